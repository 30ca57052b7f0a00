"""Drill: the hot path's in-process caches (issue 13, "Fast") against a real gunicorn with two
workers, private PostgreSQL and Redis. Every credential is warmed in both workers' memory first
(requests on fresh connections, which the two workers share); then a key is deleted, a key
disabled, a key's owner banned and a session revoked through the API, and the very next requests
must all be refused, whichever worker answers. A bystander key keeps working, and its
``lastRequest`` (written in batches by each worker) reaches the database.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.servers import Gunicorn, Postgres, Redis, wait_for
from tests.faults.test_drills import ADMIN, AUTH, User, _server, call, sign_in, sign_up
from tests.faults.test_drills import postgres as postgres  # the module-scoped fixtures, re-exported
from tests.faults.test_drills import redis as redis
from tests.faults.test_drills import served as served

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WARM = 8
AFTER = 12


def _key(base: str, owner: User, name: str) -> dict[str, str]:
    answer = call(base, "POST", f"{AUTH}/api-key/create", headers=owner.cookies, body={"name": name})
    assert answer.status == 200, answer.body
    return {"x-api-key": answer.body["key"], "id": answer.body["id"]}


def _refused(base: str, headers: dict[str, str]) -> int:
    """How many of ``AFTER`` requests right after a change were still accepted."""
    return sum(call(base, "GET", "/api/v1/me", headers=headers).status != 401 for _ in range(AFTER))


def test_no_cache_answers_after_a_change_in_any_worker(
    postgres: Postgres, redis: Redis, tmp_path: Path, served: list[Gunicorn]
) -> None:
    server = _server(postgres, tmp_path, redis, AUTH__API_KEY__RATE_LIMIT_ENABLED="false")
    served.append(server)
    base = server.base
    admin = sign_in(base, *ADMIN)
    owner = sign_up(base, "owner@example.com")
    doomed = sign_up(base, "doomed@example.com")
    phone = sign_in(base, "owner@example.com")
    deleted, disabled, bystander = (_key(base, owner, n) for n in ("deleted", "disabled", "bystander"))
    banned_key = _key(base, doomed, "banned")
    credentials = [deleted, disabled, bystander, banned_key, phone.cookies, phone.bearer, doomed.cookies]
    for _ in range(WARM):
        for headers in credentials:
            sent = {k: v for k, v in headers.items() if k != "id"}
            assert call(base, "GET", "/api/v1/me", headers=sent).status == 200
    began = time.time()

    def without_id(key: dict[str, str]) -> dict[str, str]:
        return {"x-api-key": key["x-api-key"]}

    accepted: dict[str, int] = {}
    assert call(base, "POST", f"{AUTH}/api-key/delete", headers=owner.cookies,
                body={"keyId": deleted["id"]}).status == 200
    accepted["deleted key"] = _refused(base, without_id(deleted))
    assert call(base, "POST", f"{AUTH}/api-key/update", headers=owner.cookies,
                body={"keyId": disabled["id"], "enabled": False}).status == 200
    accepted["disabled key"] = _refused(base, without_id(disabled))
    assert call(base, "POST", f"{AUTH}/admin/ban-user", headers=admin.cookies,
                body={"userId": doomed.user_id}).status == 200
    accepted["banned owner's key"] = _refused(base, without_id(banned_key))
    accepted["banned user's cookie"] = _refused(base, doomed.cookies)
    assert call(base, "POST", f"{AUTH}/revoke-other-sessions", headers=owner.cookies).status == 200
    accepted["revoked cookie"] = _refused(base, phone.cookies)
    accepted["revoked bearer"] = _refused(base, phone.bearer)
    print(f"\naccepted after the change: {accepted}")
    assert set(accepted.values()) == {0}, accepted
    for _ in range(4):
        assert call(base, "GET", "/api/v1/me", headers=without_id(bystander)).status == 200
    assert call(base, "GET", "/api/v1/me", headers=owner.cookies).status == 200

    def stamped() -> bool:  # each worker writes its lastRequest times within FLUSH_INTERVAL
        body = call(base, "GET", f"{AUTH}/api-key/get?id={bystander['id']}", headers=owner.cookies).body
        return bool(body["lastRequest"]) and body["lastRequest"] >= time.strftime("%Y-%m-%dT%H:%M:%S",
                                                                                   time.gmtime(began - 1))

    wait_for(stamped, "lastRequest of the bystander key in the database", timeout=15.0)
