"""Infrastructure failures told apart from answers: "cannot tell" is never "no".

When the database (or Redis, where nothing else can answer) is down, the honest answer is 503
``SERVICE_UNAVAILABLE`` with ``Retry-After`` (RFC 9110 §15.6.4, §10.2.3), never a 401 that makes a
client forget its session, nor a 500 that hides what happened.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, request
from sqlalchemy import exc as sa_exc

from app.core.errors import ApiError, error_response

__all__ = [
    "RETRY_AFTER",
    "is_outage",
    "register_outage_handlers",
    "rollback_quietly",
    "service_unavailable",
    "warn_every",
]

log = logging.getLogger(__name__)

#: Seconds a client is asked to wait after a 503 caused by an outage.
RETRY_AFTER = 5
MESSAGE = "A service this request needs is unavailable; try again shortly"


def _outage_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,  # the connection pool is exhausted waiting on a dead server
        sa_exc.DisconnectionError,
        ConnectionError,
        TimeoutError,
    ]
    try:
        import redis.exceptions as redis_exc

        types += [redis_exc.ConnectionError, redis_exc.TimeoutError, redis_exc.BusyLoadingError]
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    from app.core.redis import RedisUnavailable

    types.append(RedisUnavailable)
    return tuple(types)


_TYPES: tuple[type[BaseException], ...] | None = None


def is_outage(error: BaseException) -> bool:
    """True when ``error`` says a dependency could not be reached (not that the data said no)."""
    global _TYPES
    if _TYPES is None:
        _TYPES = _outage_types()
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, _TYPES)


def service_unavailable() -> ApiError:
    return ApiError(503, "SERVICE_UNAVAILABLE", MESSAGE, headers={"Retry-After": str(RETRY_AFTER)})


_last_warned: dict[str, float] = {}


def warn_every(key: str, interval: float, message: str, *args: object) -> None:
    """Log ``message`` at most once per ``interval`` seconds per ``key`` in this process: an outage
    is one line per interval, not one per request."""
    now = time.monotonic()
    last = _last_warned.get(key)
    if last is None or now - last >= interval:
        _last_warned[key] = now
        log.warning(message, *args)


def rollback_quietly() -> None:
    """Roll the request's database session back after an outage (its connection may be gone)."""
    from app.extensions import db

    try:
        db.session.rollback()
    except Exception as error:  # noqa: BLE001 - the connection is already gone
        log.debug("rollback after an outage failed: %s", error)


def _handle_outage(error: Exception) -> Response:
    rollback_quietly()
    warn_every("outage:" + type(error).__name__, 5.0, "dependency unavailable on %s %s: %s",
               request.method, request.path, error)
    unavailable = service_unavailable()
    return error_response(unavailable.status, unavailable.code, unavailable.message, headers=unavailable.headers)


def register_outage_handlers(app: Flask) -> None:
    """Database and Redis outages answer 503 with ``Retry-After`` wherever they surface."""
    for error_type in _outage_types():
        if issubclass(error_type, Exception):
            app.register_error_handler(error_type, _handle_outage)
