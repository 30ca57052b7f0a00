"""Per-key usage: the request quota (``remaining`` with refill) and the per-key rate limit.

Each request that carries a key is counted exactly once, by the credential resolver (better-auth
counts twice when a route verifies and then reads the session: their issue #4023). Counting never
loses an update under concurrency (OWASP API Security Top 10 2023, API4 "Unrestricted Resource
Consumption"):

- ``remaining``: the database is the durable truth. With Redis, a request spends from a lease, a
  block of units the row grants by compare-and-set (``quotaLease``), held in Redis and spent there
  by a Lua script: no database write except when a lease is taken (:mod:`.quota`, which says how
  big a block is). The quota is the row's ``remaining`` plus the live lease's units, and that sum
  is what get and list answer. Without Redis, or while Redis fails (an error, the circuit breaker
  of :mod:`app.core.redis` open), a guarded ``UPDATE ... SET remaining = remaining - 1 WHERE
  remaining > 0``, exact: two workers can never both spend the last unit (a live lease's units
  wait in Redis meanwhile). A due refill (``refillInterval``/``refillAmount``) is a compare-and-set
  on the row in both cases, and bumps ``quotaLease``: the last period's lease dies with its units;
  so does an update of ``remaining`` (:func:`.service.update_api_key`).
- Safety of the leases: Redis losing the hash (restart, ``FLUSHALL``) loses at most one lease's
  unspent units, the owner's loss (never more requests than the quota); a hash restored from an
  old snapshot holds a lease older than the row's, which never validates (no give-back). A Redis
  that comes back with an older state of the lease still live (restored, restarted from its own
  RDB/AOF, a failover to a lagging replica) gives back what was spent of it since: at most one
  block per key, the bound the block size keeps (:mod:`.quota`).
- The rate limit (better-auth's window: ``requestCount`` within ``rateLimitTimeWindow`` ms of
  ``lastRequest``) runs in one Lua script in Redis when Redis is configured, atomic and shared by
  every process; without Redis, as guarded ``UPDATE``s on the row, as better-auth 1.7 does.

Order differs from better-auth on purpose: the rate limit is checked first, so a request refused
with ``RATE_LIMITED`` does not also spend quota.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update

from app.core.errors import ApiError
from app.core.outage import warn_every
from app.core.redis import REDIS_ERRORS
from app.extensions import db
from app.modules.auth.api_key import journal, quota
from app.modules.auth.api_key.errors import RATE_LIMITED, USAGE_EXCEEDED, api_key_error
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.models import utcnow

log = logging.getLogger(__name__)

REDIS_PREFIX = "auth:apikey:rl:"
_MAX_ATTEMPTS = 5

# KEYS[1] the key's hash; ARGV window ms, max, seed count, seed last (ms, 0 = none).
# Returns {1, 0} when counted, {0, tryAgainIn ms} when refused. Time is Redis's own clock, the
# same for every worker on every machine.
_RATE_LIMIT_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local count = tonumber(redis.call('HGET', KEYS[1], 'count'))
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
if count == nil then
  count = tonumber(ARGV[3])
  last = tonumber(ARGV[4])
  if last == 0 then last = nil end
end
if last == nil or now - last > window then
  count = 0
elseif count >= max then
  return {0, window - (now - last)}
end
redis.call('HSET', KEYS[1], 'count', count + 1, 'last', now)
redis.call('PEXPIRE', KEYS[1], window + 1000)
return {1, 0}
"""


def _redis() -> Any:
    return current_app.extensions.get("redis")


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def _rate_limited(try_again_in: float) -> ApiError:
    return api_key_error(RATE_LIMITED, details={"tryAgainIn": max(0, math.ceil(try_again_in))})


# -- rate limit ---------------------------------------------------------------------------------


def count_in_redis(redis: Any, key_id: str, window: int, maximum: int, seed_count: int, seed_last_ms: int) -> None:
    """Count one request in the key's Redis window (one Lua call), or raise 429 ``RATE_LIMITED``.
    The seeds (the row's counters) start a window Redis does not hold."""
    script = current_app.extensions.get("auth.api_key.rl_script")
    if script is None:
        script = redis.register_script(_RATE_LIMIT_LUA)
        current_app.extensions["auth.api_key.rl_script"] = script
    allowed, try_again_in = script(keys=[REDIS_PREFIX + key_id], args=[window, maximum, seed_count, seed_last_ms])
    if not int(allowed):
        raise _rate_limited(float(try_again_in))


def seeds(row: ApiKey) -> tuple[int, int, int, int]:
    """(window ms, max, count, last request ms) of the row, as :func:`count_in_redis` takes them."""
    last = int(row.last_request.timestamp() * 1000) if row.last_request else 0
    return int(row.rate_limit_time_window or 0), int(row.rate_limit_max or 0), row.request_count or 0, last


def _rate_limit_redis(redis: Any, row: ApiKey) -> None:
    count_in_redis(redis, row.id, *seeds(row))


def _rate_limit_sql(row: ApiKey, now: datetime) -> None:
    window = int(row.rate_limit_time_window or 0)
    maximum = int(row.rate_limit_max or 0)
    window_start = now - timedelta(milliseconds=window)
    last = row.last_request
    count = row.request_count or 0
    for _ in range(_MAX_ATTEMPTS):
        if last is not None and _ms(now - last) <= window and count >= maximum:
            raise _rate_limited(window - _ms(now - last))
        if last is None or _ms(now - last) > window:
            # First request of a window: only one of the racing requests may restart the count.
            guard = or_(ApiKey.last_request.is_(None), ApiKey.last_request <= window_start)
            values: dict[str, Any] = {"request_count": 1, "last_request": now}
        else:
            guard = and_(ApiKey.last_request > window_start, ApiKey.request_count < maximum)
            values = {"request_count": ApiKey.request_count + 1, "last_request": now}
        counted = db.session.execute(
            update(ApiKey).where(ApiKey.id == row.id, guard).values(**values)
            .returning(ApiKey.request_count, ApiKey.last_request),
            execution_options={"synchronize_session": False},
        ).first()
        if counted is not None:
            row.request_count, row.last_request = counted[0], counted[1]
            return
        fresh = db.session.execute(
            select(ApiKey.request_count, ApiKey.last_request).where(ApiKey.id == row.id)
        ).first()
        if fresh is None:
            raise api_key_error(USAGE_EXCEEDED)
        count, last = fresh[0] or 0, fresh[1]
    raise _rate_limited(window)


def _check_rate_limit(row: ApiKey, now: datetime, globally_enabled: bool) -> bool:
    """Count the request in the key's window; True when that wrote to the database."""
    if not globally_enabled or not row.rate_limit_enabled:
        # better-auth still stamps lastRequest: batched, not one write per request (:mod:`.journal`)
        row.last_request = now
        journal.record(row.id, now)
        return False
    if not row.rate_limit_time_window or not row.rate_limit_max:
        return False
    redis = _redis()
    if redis is not None:
        try:
            _rate_limit_redis(redis, row)
            return False
        except REDIS_ERRORS as error:  # Redis down: the database still counts (a 429 goes through)
            warn_every("api-key-rate-limit", 60.0, "api-key rate limit falls back to the database: %s", error)
    _rate_limit_sql(row, now)
    return True


# -- quota -------------------------------------------------------------------------------------


def _refill_due(row: ApiKey, now: datetime) -> datetime | None:
    """The refill's cut-off when the key refills and may be due (the compare-and-set decides)."""
    if not (row.refill_interval and row.refill_amount):
        return None
    return now - timedelta(milliseconds=int(row.refill_interval))


def _refill(row: ApiKey, now: datetime, due: datetime) -> bool:
    """Refill the quota less this request's unit, once per period whichever worker gets there
    first; a new ``quotaLease`` ends the last period's lease."""
    refilled = db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == row.id, func.coalesce(ApiKey.last_refill_at, ApiKey.created_at) < due)
        .values(remaining=int(row.refill_amount or 0) - 1, last_refill_at=now, quota_lease=ApiKey.quota_lease + 1)
        .returning(ApiKey.remaining, ApiKey.quota_lease),
        execution_options={"synchronize_session": False},
    ).first()
    if refilled is None:
        return False
    row.remaining, row.quota_lease, row.last_refill_at = refilled[0], refilled[1], now
    return True


def _consume_in_redis(redis: Any, row: ApiKey, now: datetime) -> bool:
    due = _refill_due(row, now)
    if due is not None and (row.last_refill_at or row.created_at) < due:
        if _refill(row, now, due):
            return True
        row.quota_lease, row.remaining = quota.reread(row.id)  # another worker refilled first
    quota.spend(redis, row)  # commits what it writes (a lease, a unit straight from the row)
    return False


def _consume_remaining(row: ApiKey, now: datetime) -> bool:
    """Spend one unit of the quota; True when the request's transaction wrote (to commit)."""
    redis = _redis()
    if redis is not None:
        try:
            return _consume_in_redis(redis, row, now)
        except REDIS_ERRORS as error:  # Redis down or its breaker open: the database spends exactly
            warn_every("api-key-quota", 60.0, "api-key quota falls back to the database: %s", error)
    due = _refill_due(row, now)
    if due is not None and _refill(row, now, due):
        return True
    if not quota.spend_in_row(row):
        raise api_key_error(USAGE_EXCEEDED)
    return True


def consume(row: ApiKey, *, rate_limit_enabled: bool) -> None:
    """Count one request against the key, or raise 429 (``RATE_LIMITED`` / ``USAGE_EXCEEDED``).

    ``row`` is detached from the session: the counted values are written back into it from the
    updates' ``RETURNING`` (a concurrent request may delete a spent key right after this one
    counted, so the row is never read again). Commits what it wrote: the guarded updates must not
    hold row locks for the rest of the request; a request that wrote nothing (its quota spent in
    Redis) keeps its read transaction and connection for the rest of the request.
    """
    now = utcnow()
    try:
        wrote = _check_rate_limit(row, now, rate_limit_enabled)
        if row.remaining is not None:
            wrote = _consume_remaining(row, now) or wrote
        if wrote:
            db.session.commit()
    except BaseException:
        db.session.commit()  # a rate-limit slot already taken stays taken
        raise


def live_counters(ids: Iterable[str]) -> dict[str, tuple[int, datetime | None]]:
    """(requestCount, lastRequest) of keys whose counters live in Redis, for the JSON shape."""
    redis = _redis()
    ids = list(ids)
    if redis is None or not ids:
        return {}
    from datetime import UTC

    try:
        pipe = redis.pipeline(transaction=False)
        for key_id in ids:
            pipe.hmget(REDIS_PREFIX + key_id, "count", "last")
        rows = pipe.execute()
    except REDIS_ERRORS as error:
        log.warning("api-key counters unavailable: %s", error)
        return {}
    found: dict[str, tuple[int, datetime | None]] = {}
    for key_id, (count, last) in zip(ids, rows, strict=True):
        if count is not None:
            when = datetime.fromtimestamp(int(last) / 1000, UTC) if last else None
            found[key_id] = (int(count), when)
    return found


def shown_counters(rows: Sequence[ApiKey]) -> dict[str, tuple[int, datetime | None]]:
    """(requestCount, lastRequest) as get and list answer them: Redis's counters where they live
    there, and the ``lastRequest`` times this process has not written yet (:mod:`.journal`)."""
    found = live_counters(row.id for row in rows)
    waiting = journal.pending([row.id for row in rows])
    for row in rows:
        when = waiting.get(row.id)
        if when is None:
            continue
        count, last = found.get(row.id, (row.request_count or 0, row.last_request))
        found[row.id] = (count, when if last is None or last < when else last)
    return found


def shown_remaining(rows: Sequence[ApiKey]) -> dict[str, int]:
    """``remaining`` as get and list answer it: the row's plus its live lease's units in Redis
    (the row's alone when Redis cannot say)."""
    redis = _redis()
    if redis is None:
        return {}
    try:
        units = quota.live_units(redis, list(rows))
    except REDIS_ERRORS as error:
        log.warning("api-key quota leases unavailable: %s", error)
        return {}
    return {row.id: int(row.remaining or 0) + units[row.id] for row in rows if row.id in units}


def exhausted(row: ApiKey) -> bool:
    """No unit left at all: the row's ``remaining`` is 0 and no live lease holds a unit. False when
    Redis cannot say (the key is refused with 429 but kept)."""
    if row.remaining != 0:
        return False
    redis = _redis()
    if redis is None:
        return True
    try:
        return quota.live_units(redis, [row]).get(row.id, 0) == 0
    except REDIS_ERRORS as error:
        log.warning("api-key quota lease unavailable: %s", error)
        return False


def forget(key_id: str) -> None:
    """Drop a deleted key's Redis counters and quota lease."""
    redis = _redis()
    if redis is None:
        return
    try:
        redis.delete(REDIS_PREFIX + key_id, quota.LEASE_PREFIX + key_id)
    except REDIS_ERRORS as error:
        log.warning("api-key counters not deleted: %s", error)
