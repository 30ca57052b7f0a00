"""The one counter store of the auth module (rate limits, lockout), from the ``limits`` library.

With ``REDIS_URL`` the counters live in Redis, so every worker on every machine counts the same
requests (DESIGN.md "Scale": nothing shared lives in process memory); without it they live in this
process, which is right for one process on a laptop. Increments are atomic in both (a Lua script
in Redis, a lock in memory), so concurrent requests cannot both slip under a limit.
"""

from __future__ import annotations

from flask import Flask
from limits.storage import MemoryStorage, RedisStorage, Storage

__all__ = ["KEY_PREFIX", "build_storage", "counter_storage"]

#: Every key the auth module writes in Redis starts with this, so an operator can find or flush them.
KEY_PREFIX = "auth"
_EXTENSION = "auth.counters"


def build_storage(redis_url: str | None, *, redis_client: object | None = None) -> Storage:
    """A new store: Redis when a URL is given (reusing ``redis_client``'s pool if any), else memory."""
    if not redis_url:
        return MemoryStorage()
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
        storage = build_storage(settings.redis_url, redis_client=app.extensions.get("redis"))
        app.extensions[_EXTENSION] = storage
    return storage
