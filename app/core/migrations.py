"""Where the migrations are: one Alembic branch per module, in the module's own folder.

Each module keeps its revisions in ``app/modules/<name>/migrations/versions`` under its own branch
label (``auth``, ``audit``, ``tenant``, ``example``); the application's own are in
``migrations/versions`` (branch ``app``). Alembic reads every folder that exists, so deleting a
module's folder deletes its migrations with it. A revision that needs another module's tables says
so with ``depends_on``. ``flask db upgrade`` upgrades every head (``migrations/env.py``).

Databases made by the former single chain (``0001_base`` .. ``0014_web_session`` in
``migrations/versions``) are adopted on their next ``flask db upgrade``: :data:`SINGLE_CHAIN` says
which revisions of the branches each old revision had applied, and :func:`adopt_single_chain`
rewrites ``alembic_version`` to them before Alembic looks at it.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

ROOT = Path(__file__).resolve().parent.parent.parent


def version_locations() -> list[str]:
    """The application's versions folder, then each present module's."""
    found = [ROOT / "migrations" / "versions"]
    found += sorted(p for p in (ROOT / "app" / "modules").glob("*/migrations/versions") if p.is_dir())
    return [str(p) for p in found]


def configure_alembic(config: Any) -> Any:
    """Flask-Migrate's ``configure`` hook: the module folders become Alembic version locations."""
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(version_locations()))
    return config


_AUTH = ("auth_0001_core", "auth_0002_two_factor", "auth_0003_organization", "auth_0004_api_key_jwks",
         "auth_0005_revocation", "auth_0006_counters", "auth_0007_provisioned", "auth_0008_passwordless")
_AUDIT = ("audit_0001_log", "audit_0002_spool", "audit_0003_keyed")
_PROJECT = "example_0001_project"

#: Old single-chain revision -> the branch heads it had applied (empty: nothing applied yet).
SINGLE_CHAIN: dict[str, tuple[str, ...]] = {
    "0001_base": (),
    "0002_auth_core": (_AUTH[0],),
    "0003_audit": (_AUTH[0], _AUDIT[0]),
    "0004_two_factor": (_AUTH[1], _AUDIT[0]),
    "0005_organization": (_AUTH[2], _AUDIT[0], _PROJECT),
    "0006_api_key_jwks": (_AUTH[3], _AUDIT[0], _PROJECT),
    "0007_oidc": (_AUTH[3], _AUDIT[0], _PROJECT),
    "0008_audit_spool": (_AUTH[3], _AUDIT[1], _PROJECT),
    "0009_audit_keyed": (_AUTH[3], _AUDIT[2], _PROJECT),
    "0010_revocation_epoch": (_AUTH[4], _AUDIT[2], _PROJECT),
    "0011_counters": (_AUTH[5], _AUDIT[2], _PROJECT),
    "0012_provisioned_memberships": (_AUTH[6], _AUDIT[2], _PROJECT),
    "0013_passwordless": (_AUTH[7], _AUDIT[2], _PROJECT),
    "0014_web_session": (_AUTH[7], _AUDIT[2], _PROJECT, "app_0001_web_session"),
}


def adopt_single_chain(connection: Connection, known: Collection[str]) -> tuple[str, ...] | None:
    """Rewrite a single-chain ``alembic_version`` to the branch revisions it stands for.

    Revisions of modules whose folder is gone (not in ``known``) are left out. Returns the new
    rows, or None when the database is not a single-chain one. The caller commits.
    """
    if "alembic_version" not in inspect(connection).get_table_names():
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) != 1 or rows[0] not in SINGLE_CHAIN:
        return None
    heads = tuple(rev for rev in SINGLE_CHAIN[rows[0]] if rev in known)
    connection.execute(text("DELETE FROM alembic_version"))
    for rev in heads:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:rev)"), {"rev": rev})
    if _PROJECT in heads and connection.dialect.name == "postgresql":
        _adopt_project_policy(connection)
    return heads


def _adopt_project_policy(connection: Connection) -> None:
    """The single chain wrote the tenant policy inline on ``project``; the branches write it with the
    tenant module's function. Same rule, now with one definition (``tenant_0001_rls``)."""
    from app.modules.tenant.policy_sql import CREATE_MATCH_FUNCTION

    match = 'app_tenant_matches("organizationId")'
    connection.exec_driver_sql(CREATE_MATCH_FUNCTION)
    connection.exec_driver_sql("DROP POLICY IF EXISTS tenant_isolation ON project")
    connection.exec_driver_sql(f"CREATE POLICY tenant_isolation ON project USING ({match}) WITH CHECK ({match})")
