"""N parallel requests with a key limited to M < N succeed exactly M times: real threads against a
live server (werkzeug's threaded server), on PostgreSQL, with the counters in Redis or in SQL."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from app.extensions import db
from app.modules.auth.api_key import KeyFields, create_api_key
from app.modules.auth.api_key.models import ApiKey
from tests.auth.test_api_key_support import add_guarded_routes
from tests.conftest import _truncate_all
from tests.live_server import LiveServer, bound_server, serve

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

N, M = 24, 7


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    url: str = request.getfixturevalue("pg_database")
    yield url
    _truncate_all(url)


def _serve(make_app: Any, **overrides: Any) -> Iterator[LiveServer]:
    with bound_server() as server:
        url = f"http://127.0.0.1:{server.server_port}"
        app = add_guarded_routes(make_app(AUTH__BASE_URL=url, **overrides))
        with serve(server, app):
            yield LiveServer(url=url, app=app, outbox=None)  # type: ignore[arg-type]


def _owner(server: LiveServer) -> str:
    response = requests.post(
        f"{server.auth_url}/sign-up/email",
        json={"name": "load", "email": "load@example.com", "password": "correct horse battery"},
        headers={"Origin": server.url},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    user_id: str = response.json()["user"]["id"]
    return user_id


def _burst(server: LiveServer, key: str) -> Counter[Any]:
    barrier = threading.Barrier(N)
    outcomes: list[Any] = []
    lock = threading.Lock()

    def hit() -> None:
        with requests.Session() as session:
            barrier.wait()
            response = session.get(f"{server.url}/api/v1/probe/auth", headers={"x-api-key": key}, timeout=30)
            code = response.json().get("code") if response.status_code != 200 else None
            with lock:
                outcomes.append((response.status_code, code))

    threads = [threading.Thread(target=hit) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == N
    return Counter(outcomes)


@pytest.mark.parametrize("counters", ["redis", "sql"])
def test_rate_limit_admits_exactly_m_of_n(make_app: Any, pg_url: str, redis_url: str, counters: str) -> None:
    overrides = {"DATABASE_URL": pg_url, "REDIS_URL": redis_url if counters == "redis" else ""}
    for server in _serve(make_app, **overrides):
        user_id = _owner(server)
        with server.app.app_context():
            row, key = create_api_key(user_id, KeyFields(rate_limit_max=M, rate_limit_time_window=3_600_000))
            key_id = row.id
        outcomes = _burst(server, key)
        assert outcomes == Counter({(200, None): M, (429, "RATE_LIMITED"): N - M})
        if counters == "redis":
            assert int(server.app.extensions["redis"].hget(f"auth:apikey:rl:{key_id}", "count")) == M
        else:
            with server.app.app_context():
                assert db.session.get(ApiKey, key_id).request_count == M


def test_quota_admits_exactly_m_of_n(make_app: Any, pg_url: str, redis_url: str) -> None:
    for server in _serve(make_app, DATABASE_URL=pg_url, REDIS_URL=redis_url):
        user_id = _owner(server)
        with server.app.app_context():
            row, key = create_api_key(user_id, KeyFields(remaining=M, rate_limit_enabled=False))
            key_id = row.id
        outcomes = _burst(server, key)
        assert outcomes[(200, None)] == M
        # The losers see the spent quota (or, once a loser deleted the spent key, no key at all).
        assert set(outcomes) - {(200, None)} <= {(429, "USAGE_EXCEEDED"), (401, "INVALID_API_KEY")}
        with server.app.app_context():
            row = db.session.get(ApiKey, key_id)
            assert row is None or row.remaining == 0
