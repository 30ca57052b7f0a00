"""Organization members holding ``audit:read`` read their organization's entries and nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.auth.helpers import sign_in, sign_up
from tests.auth.test_organization import create_org, join


def _log(app: Flask, organization_id: str, action: str) -> None:
    with app.test_request_context():
        app.extensions["audit_logger"].log(
            actor_id="someone", action=action, resource_type="project", organization_id=organization_id
        )


def _read(client: FlaskClient, **query: str) -> Any:
    return client.get("/api/v1/audit", query_string={"limit": "1000", **query})


def test_members_with_audit_read_see_only_their_organization(make_app: Any) -> None:
    app: Flask = make_app(MODULES__AUDIT="true", ADMIN__EMAIL="root@example.com", ADMIN__PASSWORD="root password 1")
    alice, bob = app.test_client(), app.test_client()
    sign_up(alice, "alice@example.com")
    sign_up(bob, "bob@example.com")
    org_a, org_b = create_org(alice, "org-a"), create_org(bob, "org-b")
    _log(app, org_a["id"], "a.thing")
    _log(app, org_b["id"], "b.thing")

    entries = _read(alice).json["entries"]
    assert entries and {e["organizationId"] for e in entries} == {org_a["id"]}
    assert "b.thing" not in {e["action"] for e in entries}
    # Naming the other organization yields nothing of it.
    assert _read(alice, organizationId=org_b["id"]).json["entries"] == []
    assert all(e["organizationId"] == org_a["id"] for e in _read(alice, action="b.thing").json["entries"])

    # A plain member of org A lacks audit:read.
    carol = join(app, alice, org_a["id"], "carol@example.com", role="member")
    refused = _read(carol)
    assert refused.status_code == 403

    # Anonymous: 401. The platform admin reads every organization.
    assert _read(app.test_client()).status_code == 401
    root = app.test_client()
    assert sign_in(root, "root@example.com", "root password 1").status_code == 200
    everything = {e["action"] for e in _read(root).json["entries"]}
    assert {"a.thing", "b.thing"} <= everything
