"""The core workloads: the bare baseline, reading a session, a guarded route, signing in."""

from __future__ import annotations

import json

from bench.workload import AUTH, BARE_PATH, Context, Request, Workload, expect_user

#: Authenticated GETs: Redis sessions should cost at most 20% of the bare throughput, database ones 40%.
AUTHENTICATED_GET = {"redis": 0.8, "database": 0.6}


def _bare(_context: Context) -> Request:
    return Request(BARE_PATH)


def _get_session_cookie(context: Context) -> Request:
    return Request(f"{AUTH}/get-session", headers={"Cookie": context.user().cookie})


def _me_cookie(context: Context) -> Request:
    return Request("/api/v1/me", headers={"Cookie": context.user().cookie})


def _me_bearer(context: Context) -> Request:
    return Request("/api/v1/me", headers={"Authorization": f"Bearer {context.user().token}"})


def _sign_in(context: Context) -> Request:
    user = context.user()
    body = json.dumps({"email": user.email, "password": user.password})
    return Request(f"{AUTH}/sign-in/email", method="POST", body=body,
                   headers={"Content-Type": "application/json", **context.origin})


WORKLOADS = [
    Workload("bare", "GET /bench/bare: every hook, no credential, constant JSON", _bare),
    Workload("get-session-cookie", "GET /api/v1/auth/get-session with the session cookie", _get_session_cookie,
             check=expect_user, min_ratio=AUTHENTICATED_GET),
    Workload("me-cookie", "GET /api/v1/me (require_auth) with the session cookie", _me_cookie,
             check=expect_user, min_ratio=AUTHENTICATED_GET),
    Workload("me-bearer", "GET /api/v1/me (require_auth) with Authorization: Bearer", _me_bearer,
             check=expect_user, min_ratio=AUTHENTICATED_GET),
    Workload("sign-in", "POST /api/v1/auth/sign-in/email, argon2id at the configured (OWASP) cost", _sign_in,
             check=expect_user, hash_bound=0.8),
]
