"""PostgreSQL least-privilege mode: the app's role may only INSERT into and SELECT the audit table;
retention goes through the SECURITY DEFINER ``audit_prune()``, which prunes only what its
``audit.pruned`` entry describes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, make_url, select, text, update
from sqlalchemy.exc import DBAPIError, ProgrammingError
from sqlalchemy.pool import NullPool

from app import create_app
from app.extensions import db
from app.modules import audit_logger, close_modules, ensure_ready
from app.modules.audit.chain import entry_hash, format_time, table
from app.modules.audit.verify import verify_chain
from tests.audit.conftest import AUDIT_ON, audit_keyring, sample
from tests.conftest import BASE_OVERRIDES, _migrate, _pg_admin_url, create_pg_database, drop_pg_database

pytestmark = pytest.mark.postgres

APP_ROLE = "saas_app"


def _admin(statement: str, url: str | None = None) -> None:
    engine = create_engine(url or _pg_admin_url(), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


@pytest.fixture
def owner_url() -> Iterator[str]:
    """A database migrated by its owner (the server's superuser here), as in production."""
    url = create_pg_database()
    _migrate(create_app({**BASE_OVERRIDES, "DATABASE_URL": url}))
    yield url
    drop_pg_database(url)


@pytest.fixture
def app_url(owner_url: str) -> Iterator[str]:
    """A LOGIN role that is a member of the migration's role: what docs/operations.md tells operators to run."""
    login = f"app_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE ROLE {login} LOGIN IN ROLE {APP_ROLE}")
    yield make_url(owner_url).set(username=login).render_as_string(hide_password=False)
    _admin(f"DROP ROLE IF EXISTS {login}")


@pytest.fixture
def role_app(app_url: str, tmp_path: Any) -> Iterator[Flask]:
    app = create_app({**BASE_OVERRIDES, **AUDIT_ON, "DATABASE_URL": app_url,
                      "MODULES__AUDIT__SPOOL_DIR": str(tmp_path / "spool")})
    ensure_ready(app)
    yield app
    close_modules(app)
    with app.app_context():
        db.engine.dispose()


def _as(url: str, statement: str, **params: Any) -> Any:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def _write(app: Flask, count: int) -> None:
    with app.app_context():
        for number in range(count):
            audit_logger.log(**sample(resource_id=str(number)))
        audit_logger.log_async(**sample(action="async.one"))
        assert app.extensions["audit_logger"].flush(30)


def test_the_app_role_may_insert_and_read_but_not_rewrite_or_delete(role_app: Flask, app_url: str) -> None:
    _write(role_app, 5)
    assert _as(app_url, "SELECT count(*) FROM audit_log") == 6
    assert _as(app_url, "SELECT current_user") != "postgres"
    for statement in ("UPDATE audit_log SET actor_id = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log",
                      "UPDATE audit_log SET hash = 'f' WHERE id = (SELECT max(id) FROM audit_log)"):
        with pytest.raises(ProgrammingError, match="permission denied"):
            _as(app_url, statement)
    assert _as(app_url, "SELECT count(*) FROM audit_log") == 6
    # Everything else stays writable for the app (default privileges cover later tables too).
    _as(app_url, "CREATE TEMP TABLE t (x int)")
    assert _as(app_url, 'SELECT count(*) FROM "user"') == 0
    with role_app.app_context(), db.engine.connect() as conn:
        assert verify_chain(conn, audit_keyring()).ok


def _backdate(owner_url: str, count: int, days: int) -> None:
    """As the owner: make the first ``count`` entries ``days`` old, re-signed with the key."""
    engine = create_engine(owner_url, poolclass=NullPool)
    keyring = audit_keyring()
    with engine.begin() as conn:
        ids = conn.execute(select(table.c.id).order_by(table.c.id)).scalars().all()
        old = datetime.now(UTC) - timedelta(days=days)
        conn.execute(update(table).where(table.c.id.in_(ids[:count])).values(created_at=old))
        prev = "0" * 64
        for row in conn.execute(select(table).order_by(table.c.id)).mappings().all():
            digest = entry_hash(dict(row), prev, keyring)
            conn.execute(update(table).where(table.c.id == row["id"]).values(prev_hash=prev, hash=digest))
            prev = digest
    engine.dispose()


def test_retention_runs_through_the_function_and_keeps_the_chain(
    role_app: Flask, owner_url: str, app_url: str
) -> None:
    _write(role_app, 6)
    _backdate(owner_url, 4, days=40)
    outcome = role_app.test_cli_runner().invoke(args=["audit", "prune", "--older-than", "30"])
    assert outcome.exit_code == 0, outcome.output
    assert "deleted 4 entries" in outcome.output
    assert _as(app_url, "SELECT count(*) FROM audit_log WHERE action = 'audit.pruned'") == 1
    assert _as(app_url, "SELECT count(*) FROM audit_log") == 4  # 2 + the async one + the prune entry
    outcome = role_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 0 and "intact: 4 entries" in outcome.output


def test_the_function_refuses_what_does_not_describe_the_prune(role_app: Flask, owner_url: str, app_url: str) -> None:
    _write(role_app, 4)
    _backdate(owner_url, 2, days=40)
    engine = create_engine(app_url, poolclass=NullPool)
    with engine.connect() as conn:
        head = conn.execute(select(table.c.hash).order_by(table.c.id.desc()).limit(1)).scalar()
        ids = conn.execute(select(table.c.id).order_by(table.c.id)).scalars().all()
        last = conn.execute(select(table.c.hash).where(table.c.id == ids[1])).scalar()
    engine.dispose()
    now = datetime.now(UTC)
    pruned = {"action": "audit.pruned", "resource_type": "audit_log", "created_at": format_time(now),
              "prev_hash": head, "hash": "0" * 64, "key_id": "t1", "entry_id": "a" * 32,
              "details": {"deleted": 2, "anchor_id": ids[1], "anchor_hash": last, "cutoff": "x"}}
    cases = [
        (now - timedelta(days=30), {**pruned, "details": {**pruned["details"], "deleted": 1}}, "does not describe"),
        (now - timedelta(days=30), {**pruned, "prev_hash": "1" * 64}, "does not describe"),
        (now - timedelta(days=30), {**pruned, "action": "user.sign_in"}, "does not describe"),
        (now - timedelta(hours=2), pruned, "at least a day old"),
        (now - timedelta(days=30), pruned, None),  # accepted: the function cannot check the HMAC...
    ]
    for cutoff, entry, message in cases:
        statement = "SELECT audit_prune(:keep, :cutoff, CAST(:entry AS jsonb))"
        params = {"keep": ids[2], "cutoff": cutoff, "entry": json.dumps(entry)}
        if message is None:
            assert _as(app_url, statement, **params) == 2
        else:
            with pytest.raises(DBAPIError, match=message):
                _as(app_url, statement, **params)
            assert _as(app_url, "SELECT count(*) FROM audit_log") == 5
    # ...so a prune entry made without the key is caught by verify, and the removal is on record.
    outcome = role_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert outcome.exit_code == 1 and "was altered" in outcome.output


def test_the_migration_granted_nothing_more(owner_url: str) -> None:
    grants = _as(owner_url, "SELECT string_agg(privilege_type, ',' ORDER BY privilege_type) FROM "
                 "information_schema.role_table_grants WHERE grantee = :r AND table_name = 'audit_log'", r=APP_ROLE)
    assert grants == "INSERT,SELECT"
    assert _as(owner_url, "SELECT prosecdef FROM pg_proc WHERE proname = 'audit_prune'") is True
    assert _as(owner_url, "SELECT has_function_privilege('public', "
                          "'audit_prune(bigint,timestamptz,jsonb)', 'EXECUTE')") is False
