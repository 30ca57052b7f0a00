"""PostgreSQL row-level security: the database's second wall behind the ORM filter.

The app connects as an ordinary role (superusers bypass RLS), with
``MODULES__TENANT__ROW_LEVEL_SECURITY=true``. Raw SQL, which the ORM filter never sees, still only
reaches the request's tenant.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.core.identity import Identity, bind
from app.extensions import db
from app.modules.tenant import tenant_unscoped
from app.modules.tenant.resolver import Tenant
from app.modules.tenant.rls import apply_rls
from tests.auth.helpers import ORIGIN, post, sign_up
from tests.conftest import BASE_OVERRIDES, _migrate, _pg_admin_url, create_pg_database, drop_pg_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def app_role_url() -> Iterator[str]:
    """A fresh migrated database, and a URL to it as a non-superuser role that owns nothing."""
    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    role = f"rls_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    try:
        yield make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        admin.dispose()
        drop_pg_database(url)
        admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def test_raw_sql_only_sees_the_tenant(make_app: Any, app_role_url: str) -> None:
    app: Flask = make_app(DATABASE_URL=app_role_url, MODULES__TENANT="true", MODULES__EXAMPLE="true",
                          MODULES__TENANT__ROW_LEVEL_SECURITY="true")
    alice, bob = app.test_client(), app.test_client()
    sign_up(alice, "alice@example.com")
    sign_up(bob, "bob@example.com")
    org_a = post(alice, "/organization/create", {"name": "A", "slug": "a"}).json["id"]
    org_b = post(bob, "/organization/create", {"name": "B", "slug": "b"}).json["id"]
    for client, name in ((alice, "alpha"), (bob, "beta")):
        created = client.post("/api/v1/projects", json={"name": name}, headers=ORIGIN)
        assert created.status_code == 201, created.json
    assert [p["name"] for p in alice.get("/api/v1/projects", headers=ORIGIN).json["projects"]] == ["alpha"]

    raw = text('SELECT name FROM project ORDER BY name')
    with app.test_request_context("/"):
        bind(Identity(tenant=Tenant(org_a, "session", "owner")))
        apply_rls()
        assert db.session.execute(raw).scalars().all() == ["alpha"]
        db.session.rollback()  # a new transaction sets the tenant again
        assert db.session.execute(raw).scalars().all() == ["alpha"]
        forged = text("""INSERT INTO project (id, name, "organizationId", "createdAt", "updatedAt")
                         VALUES ('forged', 'x', :org, now(), now())""")
        with pytest.raises(Exception, match="row-level security"):
            db.session.execute(forged, {"org": org_b})
        db.session.rollback()

        bind(Identity())
        apply_rls()
        assert db.session.execute(raw).scalars().all() == []
        with tenant_unscoped("test: an admin job sees every tenant"):
            assert db.session.execute(raw).scalars().all() == ["alpha", "beta"]
        assert db.session.execute(raw).scalars().all() == []
        db.session.rollback()
