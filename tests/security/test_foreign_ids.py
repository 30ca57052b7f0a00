"""Another tenant's id answers exactly as an id that does not exist (issue 14 item 6).

OWASP ASVS 4.0 V4.2.1 (IDOR) and the Authorization Cheat Sheet ("return a generic error"): an answer
that differs for a foreign id tells an attacker the id exists, and here it also told the owner's
role. For every kind of id (member, invitation, API key, project) each route is called twice by a
member of organization A, once with an id of organization B and once with an unknown id of the
same shape: status, code and message must be equal, and B's row must be untouched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.helpers import ORIGIN, post, sign_up

pytestmark = pytest.mark.modules("tenant", "example")

API = "/api/v1/auth"
UNKNOWN = "x" * 32


def _org(client: FlaskClient, slug: str) -> str:
    response = post(client, "/organization/create", {"name": slug, "slug": slug})
    assert response.status_code == 200, response.json
    return str(response.json["id"])


@pytest.fixture
def world(make_app: Any) -> dict[str, Any]:
    app: Flask = make_app(MODULES__TENANT="true", MODULES__EXAMPLE="true")
    alice, bob, carol = app.test_client(), app.test_client(), app.test_client()
    sign_up(alice, "alice@example.com")
    sign_up(bob, "bob@example.com")
    sign_up(carol, "carol@example.com")
    org_a, org_b = _org(alice, "org-a"), _org(bob, "org-b")
    # B has an owner (bob), a plain member (carol), an invitation, an organization key, a project.
    invited = post(bob, "/organization/invite-member", {"email": "dave@example.com", "role": "member"}).json
    added = post(bob, "/organization/invite-member", {"email": "carol@example.com", "role": "member"}).json
    from tests.auth.helpers import verify_email

    verify_email(app, "carol@example.com")
    assert post(carol, "/organization/accept-invitation", {"invitationId": added["id"]}).status_code == 200
    members = bob.get(f"{API}/organization/list-members", query_string={"organizationId": org_b}).json["members"]
    owner = next(m for m in members if m["role"] == "owner")
    plain = next(m for m in members if m["role"] == "member")
    org_key = post(bob, "/api-key/create", {"organizationId": org_b}).json
    user_key = post(bob, "/api-key/create", {}).json
    project = bob.post("/api/v1/projects", json={"name": "beta"}, headers=ORIGIN).json
    assert post(alice, "/organization/set-active", {"organizationId": org_a}).status_code == 200
    return {
        "app": app, "alice": alice, "org_a": org_a, "org_b": org_b, "owner": owner, "plain": plain,
        "invitation": invited, "org_key": org_key, "user_key": user_key, "project": project,
    }


Call = Callable[[FlaskClient, str], Any]

CALLS: dict[str, tuple[str, Call]] = {
    "update-member-role, B's owner": (
        "owner", lambda c, i: post(c, "/organization/update-member-role", {"memberId": i, "role": "member"})
    ),
    "update-member-role, B's member": (
        "plain", lambda c, i: post(c, "/organization/update-member-role", {"memberId": i, "role": "admin"})
    ),
    "remove-member, B's owner": ("owner", lambda c, i: post(c, "/organization/remove-member", {"memberIdOrEmail": i})),
    "remove-member, B's member": (
        "plain", lambda c, i: post(c, "/organization/remove-member", {"memberIdOrEmail": i})
    ),
    "cancel-invitation": ("invitation", lambda c, i: post(c, "/organization/cancel-invitation", {"invitationId": i})),
    "api-key/get, B's organization key": ("org_key", lambda c, i: c.get(f"{API}/api-key/get", query_string={"id": i})),
    "api-key/update, B's organization key": (
        "org_key", lambda c, i: post(c, "/api-key/update", {"keyId": i, "name": "stolen"})
    ),
    "api-key/delete, B's organization key": ("org_key", lambda c, i: post(c, "/api-key/delete", {"keyId": i})),
    "api-key/get, bob's key": ("user_key", lambda c, i: c.get(f"{API}/api-key/get", query_string={"id": i})),
    "api-key/delete, bob's key": ("user_key", lambda c, i: post(c, "/api-key/delete", {"keyId": i})),
    "project get": ("project", lambda c, i: c.get(f"/api/v1/projects/{i}")),
    "project patch": ("project", lambda c, i: c.patch(f"/api/v1/projects/{i}", json={"name": "x"}, headers=ORIGIN)),
    "project delete": ("project", lambda c, i: c.delete(f"/api/v1/projects/{i}", headers=ORIGIN)),
    "project bulk-delete": (
        "project", lambda c, i: c.post("/api/v1/projects/bulk-delete", json={"ids": [i]}, headers=ORIGIN)
    ),
}


def _answer(response: Any) -> tuple[int, Any]:
    return response.status_code, response.json


@pytest.mark.parametrize("case", list(CALLS))
def test_a_foreign_id_answers_as_an_unknown_one(world: dict[str, Any], case: str) -> None:
    kind, call = CALLS[case]
    foreign_id = str(world[kind]["id"])
    unknown_id = UNKNOWN[: len(foreign_id)]

    foreign = _answer(call(world["alice"], foreign_id))
    unknown = _answer(call(world["alice"], unknown_id))

    assert foreign == unknown
    assert foreign[0] in (400, 401, 403, 404) or foreign[1] == {"deleted": 0}


def test_foreign_rows_are_untouched(world: dict[str, Any]) -> None:
    for kind, call in CALLS.values():
        call(world["alice"], str(world[kind]["id"]))
    bob_view = world["app"].test_client()
    from tests.auth.helpers import sign_in

    assert sign_in(bob_view, "bob@example.com").status_code == 200
    members = bob_view.get(f"{API}/organization/list-members", query_string={"organizationId": world["org_b"]})
    assert sorted(m["role"] for m in members.json["members"]) == ["member", "owner"]
    post(bob_view, "/organization/set-active", {"organizationId": world["org_b"]})
    assert bob_view.get(f"/api/v1/projects/{world['project']['id']}").json["name"] == "beta"
    assert bob_view.get(f"{API}/api-key/get", query_string={"id": world["org_key"]["id"]}).status_code == 200
