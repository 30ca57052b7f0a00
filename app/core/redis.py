"""The Redis client: an accelerator with short timeouts and a circuit breaker, never a single point
of failure.

- Connect and read timeouts in tens of milliseconds (``REDIS_CONNECT_TIMEOUT``,
  ``REDIS_SOCKET_TIMEOUT``) and no retries: a Redis that does not answer at once is treated as down,
  and every caller has a fallback (the database for sessions and API keys, per-process counting for
  rate limits).
- A circuit breaker in the connection class, so it covers every command, pipeline and Lua script on
  the pool, the rate limiter's storage included: after a connection or timeout error no request of
  this process calls Redis for ``REDIS_BREAKER_COOLDOWN`` seconds (``RedisUnavailable`` is raised at
  once); then one caller probes, and its success closes the breaker. A hung Redis (SIGSTOP) costs
  one timeout per process per cool-down, not one per request (the "circuit breaker" pattern,
  Nygard, *Release It!*; AWS Builders' Library "Timeouts, retries and backoff with jitter").
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.connection import Connection
from redis.retry import Retry

__all__ = ["REDIS_ERRORS", "CircuitBreaker", "RedisUnavailable", "breaker_of", "make_redis"]

log = logging.getLogger(__name__)


class RedisUnavailable(redis.exceptions.ConnectionError):
    """The breaker is open: Redis was failing a moment ago and is not being called."""


class CircuitBreaker:
    """Closed (calls go through), open (calls fail at once) for ``cooldown`` seconds after a failure,
    then half-open: one caller at a time probes until a call succeeds."""

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._prober: int | None = None  # the thread probing a half-open breaker
        self.trips = 0

    @property
    def is_open(self) -> bool:
        return self._open_until > time.monotonic()

    def allow(self) -> bool:
        if self._open_until == 0.0:
            return True
        with self._lock:
            if self._open_until == 0.0:
                return True
            me = threading.get_ident()
            if self._prober == me:
                return True  # the probe's own commands (the handshake, then the command itself)
            if time.monotonic() < self._open_until or self._prober is not None:
                return False
            self._prober = me  # half-open: this caller probes, the others keep failing fast
            return True

    def success(self) -> None:
        if self._open_until != 0.0:
            with self._lock:
                if self._open_until != 0.0:
                    log.warning("redis answers again: circuit breaker closed")
                self._open_until = 0.0
                self._prober = None

    def failure(self, error: BaseException) -> None:
        with self._lock:
            first = self._open_until == 0.0
            self._open_until = time.monotonic() + self.cooldown
            self._prober = None
            self.trips += 1
        if first:
            log.warning("redis unavailable (%s): circuit breaker open, not called for %.1fs at a time",
                        error, self.cooldown)


_FAILURES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

#: What a Redis call raises when Redis fails, for callers that fall back: every redis-py error
#: (``RedisUnavailable``, the open breaker's, is one) and a socket's own ``OSError``.
REDIS_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.RedisError, OSError)


class _BreakerConnection(Connection):
    """A connection that consults and feeds its pool's breaker (set on the subclass made per pool)."""

    breaker: CircuitBreaker

    def _check(self) -> None:
        if not self.breaker.allow():
            raise RedisUnavailable("redis circuit breaker is open")

    def connect(self) -> None:
        self._check()
        try:
            super().connect()  # type: ignore[no-untyped-call]  # redis-py is untyped here
        except _FAILURES as error:
            self.breaker.failure(error)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        self._check()
        try:
            super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]
        except _FAILURES as error:
            self.breaker.failure(error)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            response = super().read_response(*args, **kwargs)
        except _FAILURES as error:
            self.breaker.failure(error)
            raise
        self.breaker.success()
        return response


def make_redis(url: str, *, socket_timeout: float, connect_timeout: float, cooldown: float) -> redis.Redis:
    """A client whose pool fails fast and stops calling a failing server for ``cooldown`` seconds."""
    breaker = CircuitBreaker(cooldown)
    connection_class = type("BreakerConnection", (_BreakerConnection,), {"breaker": breaker})
    pool = redis.ConnectionPool.from_url(
        url,
        connection_class=connection_class,
        socket_timeout=socket_timeout,
        socket_connect_timeout=connect_timeout,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )
    client = redis.Redis(connection_pool=pool, retry=Retry(NoBackoff(), 0))
    client.breaker = breaker  # type: ignore[attr-defined]
    return client


def breaker_of(client: Any) -> CircuitBreaker | None:
    found = getattr(client, "breaker", None)
    return found if isinstance(found, CircuitBreaker) else None
