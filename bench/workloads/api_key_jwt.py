"""Workloads of the api-key and jwt plugins: a guarded route reached with ``x-api-key`` and with a
bearer JWT from ``/token`` (verified in memory, no database read).

The server must run with ``AUTH__API_KEY__RATE_LIMIT_ENABLED=false``: better-auth's per-key default
is 10 requests a day, which wrk exhausts at once (as in the better-auth peer's configuration).
"""

from __future__ import annotations

import requests
from sqlalchemy import create_engine, make_url, text

from bench.workload import AUTH, Context, Request, Workload, expect_user


def _cookie_headers(context: Context) -> dict[str, str]:
    return {"Cookie": context.user().cookie, **context.origin}


def _me_api_key(context: Context) -> Request:
    response = requests.post(context.url(f"{AUTH}/api-key/create"), json={"name": "bench"},
                             headers=_cookie_headers(context), timeout=30)
    response.raise_for_status()
    return Request("/api/v1/me", headers={"x-api-key": response.json()["key"]})


def _me_api_key_quota(context: Context) -> Request:
    """A key with a quota (``remaining``, server-only: set in the database, as application code
    would through ``create_api_key``): with Redis, spent from leases, one ``UPDATE`` per block."""
    request = _me_api_key(context)
    assert context.database_url, "the quota workload sets remaining in the server's database"
    engine = create_engine(make_url(context.database_url).set(drivername="postgresql+psycopg"))
    try:
        with engine.begin() as connection:
            connection.execute(text('UPDATE api_key SET remaining = :quota WHERE "referenceId" = :user '
                                    'AND remaining IS NULL AND "lastRequest" IS NULL'),
                               {"quota": 10**9, "user": context.user().user_id})
    finally:
        engine.dispose()
    return request


def _me_jwt(context: Context) -> Request:
    response = requests.get(context.url(f"{AUTH}/token"), headers=_cookie_headers(context), timeout=30)
    response.raise_for_status()
    return Request("/api/v1/me", headers={"Authorization": f"Bearer {response.json()['token']}"})


WORKLOADS = [
    # Issue 13's targets: an API key >= 0.75x and a JWT >= 0.85x bare with Redis (a key without a
    # quota or per-key rate limit and a verified JWT are answered from the process's memory,
    # checked against the revocation sequence).
    Workload("me-api-key", "GET /api/v1/me (require_auth) with x-api-key (per-key rate limit off)", _me_api_key,
             check=expect_user, min_ratio={"redis": 0.75}),
    Workload("me-api-key-quota", "GET /api/v1/me with x-api-key of a key with a quota (remaining)",
             _me_api_key_quota, check=expect_user),
    Workload("me-jwt", "GET /api/v1/me (require_auth) with Authorization: Bearer <JWT from /token>", _me_jwt,
             check=expect_user, min_ratio={"redis": 0.85}),
]
