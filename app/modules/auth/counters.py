"""The one counter store of the auth module (rate limits, lockout), from the ``limits`` library.

Every worker on every machine must count the same requests (nothing shared lives in process
memory), so ``AUTH__COUNTER_STORAGE`` (default ``auto``) picks:

- ``redis`` (``auto`` with ``REDIS_URL``): the counters live in Redis (a Lua script per increment);
- ``database`` (``auto`` without ``REDIS_URL``): the ``auth_counter`` table of the app's database,
  one atomic upsert per increment (:mod:`app.modules.auth.counters_db`, better-auth's
  ``storage: "database"``);
- ``memory``: this process only (one process on a laptop, or tests); N workers would each allow N.

Increments are atomic in all three, so concurrent requests cannot both slip under a limit.
"""

from __future__ import annotations

from flask import Flask
from limits.storage import MemoryStorage, RedisStorage, Storage
from sqlalchemy.exc import SQLAlchemyError

from app.core.redis import REDIS_ERRORS

__all__ = ["KEY_PREFIX", "STORAGE_ERRORS", "build_storage", "counter_storage"]

#: Every key the auth module writes in Redis starts with this, so an operator can find or flush them.
KEY_PREFIX = "auth"
_EXTENSION = "auth.counters"
#: What a store raises when its backend fails (Redis, or the database); memory does not fail.
STORAGE_ERRORS: tuple[type[Exception], ...] = (*REDIS_ERRORS, SQLAlchemyError)


def build_storage(
    redis_url: str | None, *, redis_client: object | None = None, app: Flask | None = None, kind: str = "auto"
) -> Storage:
    """A new store: Redis with a URL (reusing ``redis_client``'s pool if any), else the database of
    ``app`` (``kind`` ``auto`` or ``database``), else this process's memory."""
    if kind == "memory" or (kind == "auto" and not redis_url and app is None):
        return MemoryStorage()
    if kind == "database" or (kind == "auto" and not redis_url):
        if app is None:
            raise ValueError("the database counter storage needs the app")
        from app.modules.auth.counters_db import DatabaseStorage

        return DatabaseStorage(app)
    if not redis_url:
        raise ValueError("the redis counter storage needs REDIS_URL")
    pool = getattr(redis_client, "connection_pool", None)
    if pool is not None:
        return RedisStorage(redis_url, connection_pool=pool, key_prefix=KEY_PREFIX)
    return RedisStorage(
        redis_url, key_prefix=KEY_PREFIX, socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
    )


def counter_storage(app: Flask) -> Storage:
    """The app's store, built on first use and kept in ``app.extensions["auth.counters"]``."""
    storage = app.extensions.get(_EXTENSION)
    if not isinstance(storage, Storage):
        settings = app.config["SETTINGS"]
        storage = build_storage(
            settings.redis_url,
            redis_client=app.extensions.get("redis"),
            app=app,
            kind=settings.auth.counter_storage,
        )
        app.extensions[_EXTENSION] = storage
    return storage
