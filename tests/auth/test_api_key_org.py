"""Organization-owned keys: managed by members allowed to (better-auth ``checkOrgApiKeyPermission``),
acting only within their organization, never as a user session."""

from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from app.modules.auth.api_key import KeyFields, create_api_key
from app.modules.auth.crypto import generate_id
from app.modules.auth.organization.models import Member
from tests.auth.helpers import post
from tests.auth.test_api_key_support import API, add_guarded_routes, create_key, key_headers, signed_in_client


@pytest.fixture
def app(make_app: Any) -> Any:
    return add_guarded_routes(make_app())


def _organization(client: Any, slug: str = "acme") -> str:
    response = post(client, "/organization/create", {"name": slug.title(), "slug": slug})
    assert response.status_code == 200, response.json
    organization_id: str = response.json["id"]
    return organization_id


def _add_member(app: Any, organization_id: str, user_id: str, role: str) -> None:
    with app.app_context():
        db.session.add(Member(id=generate_id(32), organization_id=organization_id, user_id=user_id, role=role))
        db.session.commit()


def test_the_owner_manages_the_organizations_keys(app: Any) -> None:
    owner, _ = signed_in_client(app)
    organization_id = _organization(owner)
    created = create_key(owner, name="org", organizationId=organization_id)
    assert (created["referenceId"], created["configId"]) == (organization_id, "organization")

    listed = owner.get(f"{API}/api-key/list", query_string={"organizationId": organization_id}).json
    assert [k["id"] for k in listed["apiKeys"]] == [created["id"]]
    assert owner.get(f"{API}/api-key/list").json["total"] == 0  # not among the user's own keys
    assert owner.get(f"{API}/api-key/get", query_string={"id": created["id"]}).status_code == 200
    assert post(owner, "/api-key/update", {"keyId": created["id"], "name": "org2"}).json["name"] == "org2"
    assert post(owner, "/api-key/delete", {"keyId": created["id"]}).json == {"success": True}


def test_outsiders_and_plain_members_may_not(app: Any) -> None:
    owner, _ = signed_in_client(app)
    organization_id = _organization(owner)
    key_id = create_key(owner, name="org", organizationId=organization_id)["id"]
    outsider, _ = signed_in_client(app, "outsider@example.com")
    member, member_user = signed_in_client(app, "member@example.com")
    _add_member(app, organization_id, member_user["id"], "member")

    for client, code in ((outsider, "USER_NOT_MEMBER_OF_ORGANIZATION"), (member, "INSUFFICIENT_API_KEY_PERMISSIONS")):
        response = post(client, "/api-key/create", {"organizationId": organization_id})
        assert (response.status_code, response.json["code"]) == (403, code)
        response = client.get(f"{API}/api-key/list", query_string={"organizationId": organization_id})
        assert (response.status_code, response.json["code"]) == (403, code)
        response = post(client, "/api-key/delete", {"keyId": key_id})
        # An outsider is told nothing about another organization's key id (issue 14: as an unknown id).
        expected = (404, "KEY_NOT_FOUND") if client is outsider else (403, code)
        assert (response.status_code, response.json["code"]) == expected


def test_an_organization_key_acts_only_within_its_organization(app: Any) -> None:
    owner, owner_user = signed_in_client(app)
    organization_id = _organization(owner)
    other_org = _organization(owner, "other")
    with app.app_context():
        _, key = create_api_key(organization_id, KeyFields(permissions={"project": ["read"]}), config_id="organization")
    anonymous = app.test_client()

    response = anonymous.get("/api/v1/probe/auth", headers=key_headers(key))
    assert response.status_code == 200
    assert response.json["organization"] == organization_id
    assert response.json["user"] != owner_user["id"]  # a service identity, not the creator
    assert anonymous.get("/api/v1/probe/projects", headers=key_headers(key)).status_code == 200
    assert anonymous.post("/api/v1/probe/projects", headers=key_headers(key)).status_code == 403
    assert anonymous.get("/api/v1/probe/admin", headers=key_headers(key)).status_code == 403
    # Asking for another organization changes nothing: the key's organization is fixed.
    response = anonymous.get("/api/v1/probe/auth", headers={**key_headers(key), "x-organization-id": other_org})
    assert response.json["organization"] == organization_id
    # Not a user session (better-auth: INVALID_REFERENCE_ID_FROM_API_KEY).
    response = anonymous.get(f"{API}/get-session", headers=key_headers(key))
    assert (response.status_code, response.json["code"]) == (401, "INVALID_REFERENCE_ID_FROM_API_KEY")
