"""A key's quota spent from Redis leases (issue 13): exactly ``remaining`` requests, no database
write per request except when a lease is taken, never a unit given back by a lost or restored
Redis hash, and the database path when Redis is down. PostgreSQL and Redis, real ones."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, update

from app.extensions import db
from app.modules.auth.api_key import KeyFields, create_api_key
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.api_key.quota import LEASE_PREFIX, block
from app.modules.auth.api_key.service import update_api_key
from app.modules.auth.models import utcnow
from tests.auth.test_api_key_support import API, add_guarded_routes, key_headers, signed_in_client, stored_key
from tests.conftest import _truncate_all

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PROBE = "/api/v1/probe/auth"


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url: str = request.getfixturevalue("pg_database")
    yield url
    _truncate_all(url)


@pytest.fixture
def app(make_app: Any, pg_url: str, redis_url: str) -> Any:
    return add_guarded_routes(make_app(DATABASE_URL=pg_url, REDIS_URL=redis_url))


def _key(app: Any, user_id: str, **fields: Any) -> tuple[str, str]:
    with app.app_context():
        row, plaintext = create_api_key(user_id, KeyFields(rate_limit_enabled=False, **fields))
        return row.id, plaintext


class _Statements:
    """SQL statements this thread sends (the journal's flush thread is not a request's)."""

    def __init__(self, app: Any) -> None:
        self.seen: list[str] = []
        self.thread = threading.get_ident()
        with app.app_context():
            self.engine = db.engine
        event.listen(self.engine, "before_cursor_execute", self._note)

    def _note(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() == self.thread:
            self.seen.append(statement.lstrip().split(None, 1)[0].upper())

    def take(self) -> Counter[str]:
        counted, self.seen = Counter(self.seen), []
        return counted

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._note)


def _spend_all(client: Any, key: str, limit: int) -> int:
    """Requests until the first refusal (at most ``limit``); how many were admitted."""
    for admitted in range(limit):
        response = client.get(PROBE, headers=key_headers(key))
        if response.status_code != 200:
            assert (response.status_code, response.json["code"]) == (429, "USAGE_EXCEEDED")
            return admitted
    return limit


def test_the_block_is_bounded() -> None:
    assert [block(n) for n in (1, 7, 39, 40, 100, 1000, 2000, 10**6)] == [1, 1, 1, 2, 5, 50, 100, 100]


def test_exactly_the_quota_with_an_update_only_per_lease(app: Any) -> None:
    owner, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=1000)
    client = app.test_client()
    statements = _Statements(app)
    try:
        per_request = []
        for done in range(1, 138):
            assert client.get(PROBE, headers=key_headers(key)).status_code == 200
            per_request.append(statements.take())
            if done in (1, 50, 51, 137):
                shown = owner.get(f"{API}/api-key/get", query_string={"id": key_id}).json["remaining"]
                assert shown == 1000 - done  # the row's remaining plus the live lease's units
                statements.take()
    finally:
        statements.close()
    updates = [counted["UPDATE"] for counted in per_request]
    # Leases of 50, 47 and 45 units: taken at the 1st, 51st and 98th request, and nothing written otherwise.
    assert [i + 1 for i, n in enumerate(updates) if n] == [1, 51, 98]
    assert set(updates) == {0, 1}
    # Reads: the key and its owner (and, while the revocation listener connects, which takes longer
    # on a loaded machine, the sequence and its new events).
    assert all(set(counted) <= {"SELECT", "UPDATE"} and 2 <= counted["SELECT"] <= 4 for counted in per_request), \
        per_request
    row = stored_key(app, key_id)
    assert row is not None and (row.quota_lease, row.remaining) == (3, 1000 - 50 - 47 - 45)
    assert _spend_all(client, key, 1000) == 1000 - 137
    assert stored_key(app, key_id) is None  # the refusal that finds nothing left deletes it (better-auth)
    assert client.get(PROBE, headers=key_headers(key)).json["code"] == "INVALID_API_KEY"


def test_two_apps_racing_spend_exactly_the_quota(make_app: Any, pg_url: str, redis_url: str) -> None:
    """Two app instances (own pools, own scripts) and eight threads share one key of quota 150."""
    apps = [add_guarded_routes(make_app(DATABASE_URL=pg_url, REDIS_URL=redis_url)) for _ in range(2)]
    _, user = signed_in_client(apps[0])
    key_id, key = _key(apps[0], user["id"], remaining=150)
    outcomes: Counter[Any] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def hit(index: int) -> None:
        client = apps[index % 2].test_client()
        barrier.wait()
        for _ in range(25):
            response = client.get(PROBE, headers=key_headers(key))
            with lock:
                outcomes[(response.status_code, response.json.get("code"))] += 1

    threads = [threading.Thread(target=hit, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(outcomes.values()) == 200
    assert outcomes[(200, None)] == 150
    assert set(outcomes) - {(200, None)} <= {(429, "USAGE_EXCEEDED"), (401, "INVALID_API_KEY")}
    row = stored_key(apps[0], key_id)
    assert row is None or row.remaining == 0


def test_a_lost_hash_never_gives_requests_back(app: Any) -> None:
    _, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100)
    client = app.test_client()
    for _ in range(3):
        assert client.get(PROBE, headers=key_headers(key)).status_code == 200
    redis = app.extensions["redis"]
    lost = int(redis.hget(LEASE_PREFIX + key_id, "units"))
    assert lost == block(100) - 3
    redis.delete(LEASE_PREFIX + key_id)  # what FLUSHALL or a restart without persistence does
    assert _spend_all(client, key, 200) == 100 - 3 - lost


def test_an_old_hash_restored_never_gives_requests_back(app: Any) -> None:
    _, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100)
    client = app.test_client()
    redis = app.extensions["redis"]
    assert client.get(PROBE, headers=key_headers(key)).status_code == 200
    snapshot = redis.hgetall(LEASE_PREFIX + key_id)  # lease 1, 4 units
    for _ in range(6):  # the 4 units of lease 1, then lease 2 (4 units) and 2 of them
        assert client.get(PROBE, headers=key_headers(key)).status_code == 200
    assert int(redis.hget(LEASE_PREFIX + key_id, "lease")) == 2
    unspent = int(redis.hget(LEASE_PREFIX + key_id, "units"))
    redis.delete(LEASE_PREFIX + key_id)
    redis.hset(LEASE_PREFIX + key_id, mapping=snapshot)  # Redis restored from the older snapshot
    assert _spend_all(client, key, 200) == 100 - 7 - unspent  # lease 1 never spends again


def test_an_exhausted_key_is_refused_at_once_while_another_request_holds_the_grant(app: Any) -> None:
    """Nothing left in the row or the lease: a request that finds the grant held by another does not
    wait on it (up to 60 rounds of a sleep and a database read each) but is refused straight away."""
    _, user = signed_in_client(app)
    # A refill (due in an hour) keeps the exhausted key: better-auth deletes one without.
    key_id, key = _key(app, user["id"], remaining=1, refill_amount=10, refill_interval=3_600_000)
    client = app.test_client()
    assert client.get(PROBE, headers=key_headers(key)).status_code == 200  # the last unit
    redis = app.extensions["redis"]
    held_until = int(redis.time()[0]) * 1000 + 60_000
    redis.hset(LEASE_PREFIX + key_id, mapping={"until": held_until, "holder": "another request"})
    statements = _Statements(app)
    try:
        response = client.get(PROBE, headers=key_headers(key))
        counted = statements.take()
    finally:
        statements.close()
    assert (response.status_code, response.json["code"]) == (429, "USAGE_EXCEEDED")
    assert counted["SELECT"] <= 4 and not counted["UPDATE"], counted


def test_a_refill_ends_the_last_periods_lease(app: Any) -> None:
    owner, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100, refill_amount=60, refill_interval=3_600_000)
    client = app.test_client()
    for _ in range(2):
        assert client.get(PROBE, headers=key_headers(key)).status_code == 200
    assert owner.get(f"{API}/api-key/get", query_string={"id": key_id}).json["remaining"] == 98
    with app.app_context():
        db.session.execute(update(ApiKey).where(ApiKey.id == key_id)
                           .values(created_at=utcnow() - timedelta(hours=2), last_refill_at=None))
        db.session.commit()
    assert client.get(PROBE, headers=key_headers(key)).status_code == 200
    assert owner.get(f"{API}/api-key/get", query_string={"id": key_id}).json["remaining"] == 59
    assert _spend_all(client, key, 200) == 59
    assert stored_key(app, key_id) is not None  # a key that refills is kept


def test_an_update_of_remaining_ends_the_lease(app: Any) -> None:
    owner, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100)
    client = app.test_client()
    assert client.get(PROBE, headers=key_headers(key)).status_code == 200  # a lease of 5, 4 left in Redis
    with app.app_context():
        row = db.session.get(ApiKey, key_id)
        update_api_key(row, KeyFields(remaining=10))
    assert owner.get(f"{API}/api-key/get", query_string={"id": key_id}).json["remaining"] == 10
    listed = owner.get(f"{API}/api-key/list").json["apiKeys"]
    assert [k["remaining"] for k in listed if k["id"] == key_id] == [10]
    assert _spend_all(client, key, 50) == 10


def test_a_deleted_key_drops_its_lease(app: Any) -> None:
    owner, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100)
    assert app.test_client().get(PROBE, headers=key_headers(key)).status_code == 200
    redis = app.extensions["redis"]
    assert redis.exists(LEASE_PREFIX + key_id)
    response = owner.post(f"{API}/api-key/delete", json={"keyId": key_id}, headers={"Origin": "http://localhost"})
    assert response.status_code == 200
    assert not redis.exists(LEASE_PREFIX + key_id)


def test_redis_down_spends_in_the_database_exactly(make_app: Any, pg_url: str) -> None:
    app = add_guarded_routes(make_app(DATABASE_URL=pg_url, REDIS_URL="redis://127.0.0.1:1/0"))
    _, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=10)
    client = app.test_client()
    statements = _Statements(app)
    try:
        assert client.get(PROBE, headers=key_headers(key)).status_code == 200
        assert statements.take()["UPDATE"] == 1  # spent in the row
    finally:
        statements.close()
    assert _spend_all(client, key, 50) == 9
    row = stored_key(app, key_id)
    assert row is not None and row.remaining == 0 and row.quota_lease == 0


def test_past_the_rounds_the_row_then_the_live_lease_spend(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request still contended after every round spends straight from the row, and from the live
    lease once the row has nothing: the quota stays exact."""
    from app.modules.auth.api_key import quota

    _, user = signed_in_client(app)
    key_id, key = _key(app, user["id"], remaining=100)
    client = app.test_client()
    assert client.get(PROBE, headers=key_headers(key)).status_code == 200  # lease 1: 5 units, 4 left
    monkeypatch.setattr(quota, "_ROUNDS", 0)
    assert _spend_all(client, key, 200) == 99
    assert stored_key(app, key_id) is None  # spent out: the refusal deleted it, and its lease with it
    assert not app.extensions["redis"].exists(LEASE_PREFIX + key_id)
