"""Counters in the application's database: rate limits and lockout shared without Redis.

better-auth's ``rateLimit.storage: "database"``: with no ``REDIS_URL`` every gunicorn worker and
every machine counts in one table, so a limit of N means N, whatever the number of workers (the
per-process memory store let 2 workers accept twice the failures before a lockout). OWASP
Authentication Cheat Sheet: throttling must hold across the whole deployment.

Each increment is one atomic statement, ``INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING``,
on PostgreSQL and SQLite alike: an expired window restarts at ``amount`` in the same statement, so
two racing requests cannot both read a stale count. It runs in its own short transaction on the
app's engine (never in the request's session), so a rolled-back request is still counted.
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from flask import Flask
from limits.storage import Storage
from sqlalchemy import Engine, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.modules.auth.models import AuthCounter

__all__ = ["DatabaseStorage"]

#: One increment in this many also deletes every expired row, so keys of past windows do not pile up.
_PURGE_ONE_IN = 200
#: Longest key stored as is (the column holds 255 characters).
_KEY_LENGTH = 200


def _column_key(key: str) -> str:
    """The key as stored: itself when it fits the column, else its SHA-256 (a long request path)."""
    if len(key) <= _KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseStorage(Storage):
    """A ``limits`` storage on the ``auth_counter`` table of the app's database."""

    STORAGE_SCHEME = None

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self._app = app
        self._engine: Engine | None = None

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return SQLAlchemyError

    def _bind(self) -> Engine:
        if self._engine is None:
            with self._app.app_context():
                self._engine = db.engine
        return self._engine

    def _upsert(self, key: str, expiry: float, amount: int) -> Any:
        key = _column_key(key)
        engine = self._bind()
        now = time.time()
        insert = pg_insert if engine.dialect.name == "postgresql" else sqlite_insert
        table = AuthCounter.__table__
        statement = insert(table).values(key=key, count=amount, expiresAt=now + expiry)
        expired = table.c.expiresAt <= now
        return statement.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={
                "count": case((expired, amount), else_=table.c["count"] + amount),
                "expiresAt": case((expired, now + expiry), else_=table.c.expiresAt),
            },
        ).returning(table.c["count"])

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add ``amount`` to ``key``'s count (a new window of ``expiry`` seconds if none is running)."""
        with self._bind().begin() as conn:
            count = int(conn.execute(self._upsert(key, expiry, amount)).scalar_one())
            if random.randrange(_PURGE_ONE_IN) == 0:
                conn.execute(delete(AuthCounter).where(AuthCounter.expires_at <= time.time()))
        return count

    def get(self, key: str) -> int:
        with self._bind().connect() as conn:
            live = (AuthCounter.key == _column_key(key), AuthCounter.expires_at > time.time())
            count = conn.execute(select(AuthCounter.count).where(*live)).scalar()
        return int(count or 0)

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self._bind().connect() as conn:
            expires = conn.execute(
                select(AuthCounter.expires_at).where(AuthCounter.key == _column_key(key), AuthCounter.expires_at > now)
            ).scalar()
        return float(expires) if expires is not None else now

    def check(self) -> bool:
        try:
            with self._bind().connect() as conn:
                conn.execute(select(1))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with self._bind().begin() as conn:
            result = conn.execute(delete(AuthCounter))
        return int(getattr(result, "rowcount", 0) or 0)

    def clear(self, key: str) -> None:
        with self._bind().begin() as conn:
            conn.execute(delete(AuthCounter).where(AuthCounter.key == _column_key(key)))

