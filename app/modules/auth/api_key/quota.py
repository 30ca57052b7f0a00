"""A key's request quota (``remaining``) spent from Redis, in leases the database grants.

The database stays the truth: a lease is a block of units taken from ``remaining`` by one
compare-and-set on the row, which also bumps ``quotaLease``; Redis holds the live lease's unspent
units in the hash ``auth:apikey:q:<id>`` (``lease``, ``units``) and spends one per request in a
Lua script, only while the hash's ``lease`` equals the row's ``quotaLease``. So at every moment

    the key's quota = the row's ``remaining`` + the ``units`` of the live lease

and a request writes to the database only when it takes a lease (one ``UPDATE`` per block instead
of one per request: issue 13; OWASP API Security Top 10 2023, API4 "Unrestricted Resource
Consumption", still enforced exactly). Only one process takes a lease at a time (a short grant
hold in the same hash), so racing requests never take two leases and drop the first one's units.

Block size: ``min(remaining, max(1, min(100, remaining // 20)))``: at most 5 % of what is left and
at most 100 units, which bounds what a Redis loss costs the key's owner (below) while a quota of
a few thousand takes one write per 50-100 requests. Quotas under 40 take one unit per lease: a
write per request, as before, for keys where a lost block would be felt.

Failures (what :mod:`.usage` documents for the whole quota):

- Redis loses the hash (restart without persistence, ``FLUSHALL``, eviction): the live lease's
  unspent units are lost, at most one block; the owner gets fewer requests, never more.
- Redis restored from an older snapshot: a hash whose lease is older than the row's never matches
  again (no give-back). A restore within the same lease (no lease taken since the snapshot) gives
  back what was spent from that lease since, at most one block.
- A lease taken but not stored (the process dies between the commit and Redis): lost, as above.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app.core.outage import warn_every
from app.core.redis import REDIS_ERRORS
from app.extensions import db
from app.modules.auth.api_key.errors import USAGE_EXCEEDED, api_key_error
from app.modules.auth.api_key.models import ApiKey

__all__ = ["LEASE_PREFIX", "block", "live_units", "reread", "spend", "spend_in_row"]

LEASE_PREFIX = "auth:apikey:q:"
#: How long (ms) a process may hold the grant before another one may take a lease instead.
GRANT_HOLD_MS = 2000
#: Rounds of (spend | wait | take a lease) before spending one unit directly in the database.
_ROUNDS = 60
_WAIT_S = 0.002

# KEYS[1] the key's hash; ARGV the row's quotaLease, grant hold ms, the caller's token.
# {1, units left}: spent one unit of the live lease. {0, 0}: the caller holds the grant (take a
# lease, or refuse when the row has nothing left). {-1, 0}: another caller is taking a lease.
_SPEND_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'lease', 'units', 'until')
local lease, units, hold = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
if lease ~= nil and lease == tonumber(ARGV[1]) and units ~= nil and units > 0 then
  redis.call('HSET', KEYS[1], 'units', units - 1)
  return {1, units - 1}
end
if hold ~= nil and hold > now then
  return {-1, 0}
end
redis.call('HSET', KEYS[1], 'until', now + tonumber(ARGV[2]), 'holder', ARGV[3])
return {0, 0}
"""

# KEYS[1] the key's hash; ARGV the new lease (0 = none: only release), its units, the caller's
# token. Stores unconditionally: an older lease stored over a newer one only loses units, and a
# hash left newer than the row (a database restored from a backup) must not block new leases.
_STORE_LUA = """
if tonumber(ARGV[1]) > 0 then
  redis.call('HSET', KEYS[1], 'lease', ARGV[1], 'units', ARGV[2])
end
if redis.call('HGET', KEYS[1], 'holder') == ARGV[3] then
  redis.call('HDEL', KEYS[1], 'until', 'holder')
end
return 1
"""


def block(remaining: int) -> int:
    """Units one lease takes from ``remaining`` (module docstring: why these bounds)."""
    return min(remaining, max(1, min(100, remaining // 20)))


def _script(redis: Any, name: str, source: str) -> Any:
    slot = "auth.api_key.quota." + name
    script = current_app.extensions.get(slot)
    if script is None:
        script = redis.register_script(source)
        current_app.extensions[slot] = script
    return script


def reread(key_id: str) -> tuple[int, int]:
    """(quotaLease, remaining) as the database holds them now; 429 when the key is gone. Commits
    first: a transaction's reads may see the database as of its start (SQLite's WAL snapshot)."""
    db.session.commit()
    found = db.session.execute(select(ApiKey.quota_lease, ApiKey.remaining).where(ApiKey.id == key_id)).first()
    if found is None or found[1] is None:
        raise api_key_error(USAGE_EXCEEDED)
    return int(found[0] or 0), int(found[1])


def _take_lease(key_id: str, seen: int, take: int) -> tuple[int, int] | None:
    """Compare-and-set: ``take`` units out of ``remaining`` as lease ``seen + 1``; (lease, remaining)
    or None when the row moved on (another lease, a refill, an update)."""
    taken = db.session.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.quota_lease == seen, ApiKey.remaining >= take)
        .values(remaining=ApiKey.remaining - take, quota_lease=ApiKey.quota_lease + 1)
        .returning(ApiKey.quota_lease, ApiKey.remaining),
        execution_options={"synchronize_session": False},
    ).first()
    db.session.commit()  # the lease is the database's before Redis may spend it
    return (int(taken[0]), int(taken[1] or 0)) if taken is not None else None


def spend_in_row(row: ApiKey) -> bool:
    """One unit straight from ``remaining`` (not committed): always exact, whatever lease lives
    in Redis. False when the row has none left."""
    spent = db.session.execute(
        update(ApiKey).where(ApiKey.id == row.id, ApiKey.remaining > 0).values(remaining=ApiKey.remaining - 1)
        .returning(ApiKey.remaining),
        execution_options={"synchronize_session": False},
    ).first()
    if spent is None:
        return False
    row.remaining = spent[0]
    return True


def _release(store_script: Any, hash_key: str, token: str, taken: tuple[int, int] | None) -> None:
    """Store a lease just taken (its units less this request's) and/or give the grant hold back.
    Best effort: a lease not stored is lost to the owner, a hold not given back lapses."""
    lease, units = taken if taken is not None else (0, 0)
    try:
        store_script(keys=[hash_key], args=[lease, units, token])
    except REDIS_ERRORS as error:  # Redis failing now: this request already has its unit
        warn_every("api-key-quota", 60.0, "api-key quota lease not stored in Redis (its units are lost): %s", error)


def spend(redis: Any, row: ApiKey) -> None:
    """Spend one unit of the key's quota, or raise 429 ``USAGE_EXCEEDED`` when the row has none left
    and the live lease has no units. ``row.remaining`` becomes what get answers (row + lease).
    Redis errors propagate (the caller spends in the database instead)."""
    hash_key = LEASE_PREFIX + row.id
    spend_script = _script(redis, "spend", _SPEND_LUA)
    store_script = _script(redis, "store", _STORE_LUA)
    token = secrets.token_hex(8)
    seen, stock = int(row.quota_lease or 0), int(row.remaining or 0)
    for _ in range(_ROUNDS):
        status, left = (int(v) for v in spend_script(keys=[hash_key], args=[seen, GRANT_HOLD_MS, token]))
        if status == 1:
            row.remaining = stock + left
            return
        if status == -1:  # another request is taking a lease: spend from it once it is stored
            if stock <= 0:
                # The live lease had no unit for us and the row has none: nothing the holder can
                # take. Refused at once, so an exhausted key's requests cannot queue on the grant.
                raise api_key_error(USAGE_EXCEEDED)
            time.sleep(_WAIT_S)
            seen, stock = reread(row.id)
            continue
        # This request holds the grant: take a lease from the row, or refuse when it has nothing.
        take = block(stock)
        try:
            if stock <= 0:
                raise api_key_error(USAGE_EXCEEDED)
            taken = _take_lease(row.id, seen, take)
        except BaseException:
            _release(store_script, hash_key, token, taken=None)
            raise
        if taken is None:  # the row moved on (another lease, a refill, an update): look again
            _release(store_script, hash_key, token, taken=None)
            seen, stock = reread(row.id)
            continue
        seen, stock = taken
        row.quota_lease, row.remaining = seen, stock + take - 1
        _release(store_script, hash_key, token, taken=(seen, take - 1))
        return
    # Still contended after every round: one unit straight from the row, else from the lease now live.
    spent = spend_in_row(row)
    db.session.commit()  # spend() commits what it writes: its caller commits nothing after it
    if spent:
        return
    seen, stock = reread(row.id)
    status, left = (int(v) for v in spend_script(keys=[hash_key], args=[seen, GRANT_HOLD_MS, token]))
    if status == 0:
        _release(store_script, hash_key, token, taken=None)
    if status != 1:
        raise api_key_error(USAGE_EXCEEDED)
    row.remaining = stock + left


def live_units(redis: Any, rows: list[ApiKey]) -> dict[str, int]:
    """Unspent units of each key's live lease (the hash's lease equals the row's ``quotaLease``).
    Redis errors propagate."""
    quota_rows = [row for row in rows if row.remaining is not None]
    if not quota_rows:
        return {}
    pipe = redis.pipeline(transaction=False)
    for row in quota_rows:
        pipe.hmget(LEASE_PREFIX + row.id, "lease", "units")
    found: dict[str, int] = {}
    for row, (lease, units) in zip(quota_rows, pipe.execute(), strict=True):
        if lease is not None and units is not None and int(lease) == int(row.quota_lease or 0):
            found[row.id] = max(0, int(units))
    return found
