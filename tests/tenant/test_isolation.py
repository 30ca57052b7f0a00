"""Tenant isolation of the example module's resource: a member of org A never reaches org B's projects.

Every path is tried: guessed ids, a spoofed ``X-Tenant-ID``, switching the active organization to a
foreign one, the bulk endpoint. Each attempt answers 403 or 404 and B's rows stay as they were.
Runs on the configured backend (SQLite or PostgreSQL).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import ConfigError
from app.core.identity import Identity, bind, current
from app.extensions import db
from app.modules import require_tenant
from app.modules.example.models import Project
from app.modules.tenant import TenantScopeError, tenant_unscoped
from app.modules.tenant.resolver import Tenant
from tests.auth.helpers import ORIGIN, post, sign_up, verify_email

API = "/api/v1/projects"


def create_org(client: FlaskClient, slug: str) -> str:
    response = post(client, "/organization/create", {"name": slug, "slug": slug})
    assert response.status_code == 200, response.json
    org_id: str = response.json["id"]
    return org_id


def new_project(client: FlaskClient, name: str, **headers: str) -> dict[str, Any]:
    response = client.post(API, json={"name": name}, headers={**ORIGIN, **headers})
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def snapshot(app: Flask) -> list[tuple[str, str, str | None]]:
    with app.app_context(), tenant_unscoped("test: compare every tenant's rows"):
        rows = db.session.scalars(select(Project).order_by(Project.id)).all()
        return [(p.id, p.name, p.organization_id) for p in rows]


@pytest.fixture
def tenant_app(make_app: Any) -> Flask:
    app: Flask = make_app(MODULES__TENANT="true", MODULES__EXAMPLE="true")
    return app


@pytest.fixture
def two_tenants(tenant_app: Flask) -> dict[str, Any]:
    alice, bob = tenant_app.test_client(), tenant_app.test_client()
    sign_up(alice, "alice@example.com")
    sign_up(bob, "bob@example.com")
    org_a, org_b = create_org(alice, "org-a"), create_org(bob, "org-b")
    a_project = new_project(alice, "alpha")
    b_projects = [new_project(bob, "beta-1"), new_project(bob, "beta-2")]
    return {"alice": alice, "bob": bob, "org_a": org_a, "org_b": org_b, "a": a_project, "b": b_projects}


def test_projects_are_stamped_with_the_tenant(two_tenants: dict[str, Any]) -> None:
    assert two_tenants["a"]["organizationId"] == two_tenants["org_a"]
    assert {p["organizationId"] for p in two_tenants["b"]} == {two_tenants["org_b"]}
    listed = two_tenants["alice"].get(API, headers=ORIGIN).json["projects"]
    assert [p["name"] for p in listed] == ["alpha"]


def test_a_member_of_a_cannot_reach_b_by_any_path(tenant_app: Flask, two_tenants: dict[str, Any]) -> None:
    alice, org_b = two_tenants["alice"], two_tenants["org_b"]
    b_ids = [p["id"] for p in two_tenants["b"]]
    before = snapshot(tenant_app)

    for project_id in b_ids:  # guessed (here: known) ids
        assert alice.get(f"{API}/{project_id}", headers=ORIGIN).status_code == 404
        patched = alice.patch(f"{API}/{project_id}", json={"name": "pwned"}, headers=ORIGIN)
        assert patched.status_code == 404
        assert alice.delete(f"{API}/{project_id}", headers=ORIGIN).status_code == 404
    bulk = alice.post(f"{API}/bulk-delete", json={"ids": b_ids}, headers=ORIGIN)
    assert (bulk.status_code, bulk.json) == (200, {"deleted": 0})

    spoofed = {**ORIGIN, "X-Tenant-ID": org_b}
    # the session's active organization wins over the header; without one, the header is checked
    post(alice, "/organization/set-active", {"organizationId": None})
    for response in (
        alice.get(API, headers=spoofed),
        alice.get(f"{API}/{b_ids[0]}", headers=spoofed),
        alice.patch(f"{API}/{b_ids[0]}", json={"name": "pwned"}, headers=spoofed),
        alice.delete(f"{API}/{b_ids[0]}", headers=spoofed),
        alice.post(f"{API}/bulk-delete", json={"ids": b_ids}, headers=spoofed),
        alice.post(API, json={"name": "planted"}, headers=spoofed),
    ):
        assert (response.status_code, response.json["code"]) == (403, "TENANT_FORBIDDEN")

    switched = post(alice, "/organization/set-active", {"organizationId": org_b})
    assert switched.status_code == 403
    listed = alice.get(API, headers=ORIGIN).json["projects"]  # back on her own (oldest) organization
    assert [p["name"] for p in listed] == ["alpha"]

    assert snapshot(tenant_app) == before


def test_bulk_delete_only_touches_the_own_tenant(tenant_app: Flask, two_tenants: dict[str, Any]) -> None:
    alice = two_tenants["alice"]
    ids = [two_tenants["a"]["id"]] + [p["id"] for p in two_tenants["b"]]
    deleted = alice.post(f"{API}/bulk-delete", json={"ids": ids}, headers=ORIGIN)
    assert deleted.json == {"deleted": 1}
    assert sorted(name for _, name, _ in snapshot(tenant_app)) == ["beta-1", "beta-2"]


def test_header_selects_a_tenant_the_caller_belongs_to(tenant_app: Flask, two_tenants: dict[str, Any]) -> None:
    alice, bob = two_tenants["alice"], two_tenants["bob"]
    org_b = two_tenants["org_b"]
    invitation = post(bob, "/organization/invite-member", {"email": "alice@example.com", "role": "member"}).json
    verify_email(tenant_app, "alice@example.com")
    post(alice, "/organization/accept-invitation", {"invitationId": invitation["id"]})  # B is now active
    post(alice, "/organization/set-active", {"organizationId": None})
    as_b = alice.get(API, headers={**ORIGIN, "X-Tenant-ID": org_b}).json["projects"]
    assert sorted(p["name"] for p in as_b) == ["beta-1", "beta-2"]
    # a member of B may read but not delete (the member role lacks project:delete)
    denied = alice.delete(f"{API}/{two_tenants['b'][0]['id']}", headers={**ORIGIN, "X-Tenant-ID": org_b})
    assert denied.status_code == 403


def test_no_tenant_answers_tenant_required(tenant_app: Flask) -> None:
    loner = tenant_app.test_client()
    sign_up(loner, "loner@example.com")
    response = loner.get(API, headers=ORIGIN)
    assert (response.status_code, response.json["code"]) == (400, "TENANT_REQUIRED")
    assert tenant_app.test_client().get(API, headers=ORIGIN).status_code == 401


def test_the_orm_refuses_writes_into_another_tenant(tenant_app: Flask, two_tenants: dict[str, Any]) -> None:
    with tenant_app.test_request_context("/"):
        bind(Identity(tenant=Tenant(two_tenants["org_a"], "session", "owner")))
        db.session.add(Project(id="x1", name="smuggled", organization_id=two_tenants["org_b"]))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()
        bind(Identity())
        assert db.session.scalars(select(Project)).all() == []  # no tenant: nothing visible
        db.session.add(Project(id="x2", name="orphan"))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_the_example_needs_the_tenant_module(make_app: Any) -> None:
    """Without the tenant module the example's queries would see every organization's projects:
    it refuses to start, and by default (example off) the route does not exist."""
    with pytest.raises(ConfigError, match=r"^MODULES__EXAMPLE=true needs MODULES__TENANT=true$"):
        make_app(MODULES__EXAMPLE="true")
    app = make_app()
    client = app.test_client()
    sign_up(client, "owner@example.com")
    create_org(client, "acme")
    assert client.post(API, json={"name": "plain"}, headers=ORIGIN).status_code == 404
    assert client.get(API).status_code == 404


def test_module_off_filters_nothing_and_require_tenant_passes(make_app: Any) -> None:
    app = make_app()  # MODULES__TENANT off
    guarded = require_tenant(lambda: "passed")
    with app.test_request_context("/"):
        assert current().tenant is None
        assert guarded() == "passed"
        db.session.add(Project(id="p1", name="plain"))
        db.session.commit()
        assert [p.name for p in db.session.scalars(select(Project))] == ["plain"]
