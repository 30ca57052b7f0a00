"""Fixtures of the audit tests: an app with the audit module on (and auth off, so guards pass)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, make_url, select
from sqlalchemy.pool import NullPool

from app.extensions import db
from app.modules.audit.chain import ADVISORY_LOCK_KEY
from app.modules.audit.keys import Keyring, build_keyring

TEST_AUDIT_KEY = "test-audit-key-0123456789-abcdefghijklmnopqrstuvwxyz"
AUDIT_ON = {
    "MODULES__AUDIT": "true", "MODULES__AUTH": "false", "MODULES__AUDIT__KEY": TEST_AUDIT_KEY,
    "MODULES__AUDIT__KEY_ID": "t1",
}


def audit_keyring() -> Keyring:
    """The keys the drills' and fixtures' apps sign with, for checking from outside them."""
    return build_keyring("MODULES__AUDIT__", TEST_AUDIT_KEY, "t1", None, production=False, auth_secret=None)



@pytest.fixture
def audit_app(make_app: Any) -> Flask:
    app: Flask = make_app(**AUDIT_ON)
    return app


def count_rows(app: Flask, **where: Any) -> int:
    from app.modules.audit.models import AuditLog

    with app.app_context():
        stmt = select(func.count()).select_from(AuditLog)
        for name, value in where.items():
            stmt = stmt.where(getattr(AuditLog, name) == value)
        return int(db.session.scalar(stmt) or 0)


def sample(**overrides: Any) -> dict[str, Any]:
    """A valid entry's keyword arguments."""
    entry: dict[str, Any] = {
        "actor_id": "user-1",
        "action": "project.update",
        "resource_type": "project",
        "resource_id": "p-1",
        "details": {"name": "new"},
        "organization_id": "org-1",
    }
    entry.update(overrides)
    return entry


@contextmanager
def hold_chain_lock(database_uri: str) -> Iterator[None]:
    """Hold the audit chain's lock from another connection: writers queue up behind it."""
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database or "", isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.rollback()
            conn.close()
        return
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as pg:
        pg.execute(select(func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
        try:
            yield
        finally:
            pg.execute(select(func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
    engine.dispose()


@contextmanager
def audit_table_missing(app: Flask) -> Iterator[None]:
    """Rename ``audit_log`` away (a write that can never succeed) and back, for shared databases."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE audit_log RENAME TO audit_log_away")
        try:
            yield
        finally:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("ALTER TABLE audit_log_away RENAME TO audit_log")
