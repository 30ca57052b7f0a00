"""The hot path's in-process caches (issue 13, "Fast") never answer for what changed.

Two apps on one database stand for two gunicorn workers (the drills in ``tests/faults`` use real
processes): a key, a session or a user changed through one is refused by the other at its very next
request, although the other had it in memory. And what the caches save is real: a key served from
memory writes nothing, its ``lastRequest`` still reaches the database (batched).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from app.extensions import db
from app.modules.auth.api_key import journal
from app.modules.auth.api_key.keys import hash_key
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.models import utcnow
from tests.auth.helpers import bearer, post, sign_in
from tests.auth.test_api_key_support import API, create_key, key_headers, signed_in_client

ADMIN = {"ADMIN__EMAIL": "root@example.com", "ADMIN__PASSWORD": "root password 123"}
#: Keys without a per-key rate limit: the ones each process keeps in memory.
UNCOUNTED = {"AUTH__API_KEY__RATE_LIMIT_ENABLED": "false", **ADMIN}


@pytest.fixture(autouse=True)
def _no_background_flush(monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal's thread would flush on its own: these tests flush when they decide."""
    monkeypatch.setattr(journal, "FLUSH_INTERVAL", 3600.0)


def _workers(make_app: Any) -> tuple[Flask, Flask]:
    return make_app(**UNCOUNTED), make_app(**UNCOUNTED)


def _me(app: Flask, headers: dict[str, str]) -> Any:
    return app.test_client(use_cookies=False).get("/api/v1/me", headers=headers)  # our Cookie header as given


def _in_memory(app: Flask, key: str) -> bool:
    return hash_key(key) in app.extensions.get("auth.api_key.memory", {})


def _admin(app: Flask) -> Any:
    admin = app.test_client()
    assert sign_in(admin, ADMIN["ADMIN__EMAIL"], ADMIN["ADMIN__PASSWORD"]).status_code == 200
    return admin


def _warm_key(make_app: Any) -> tuple[Flask, Flask, Any, dict[str, Any], dict[str, Any]]:
    one, two = _workers(make_app)
    client, user = signed_in_client(one)
    created = create_key(client, name="ci")
    for _ in range(2):
        assert _me(two, key_headers(created["key"])).status_code == 200
    assert _in_memory(two, created["key"])
    return one, two, client, user, created


@pytest.mark.parametrize("change", ["delete", "disable"])
def test_a_key_changed_in_one_worker_is_refused_by_the_other_at_once(make_app: Any, change: str) -> None:
    _, two, client, _, created = _warm_key(make_app)
    if change == "delete":
        assert post(client, "/api-key/delete", {"keyId": created["id"]}).status_code == 200
        expected = "INVALID_API_KEY"
    else:
        assert post(client, "/api-key/update", {"keyId": created["id"], "enabled": False}).status_code == 200
        expected = "KEY_DISABLED"
    response = _me(two, key_headers(created["key"]))
    assert (response.status_code, response.json["code"]) == (401, expected)
    assert not _in_memory(two, created["key"])


def test_a_banned_owners_key_is_refused_by_the_other_worker_at_once(make_app: Any) -> None:
    one, two, _, user, created = _warm_key(make_app)
    assert post(_admin(one), "/admin/ban-user", {"userId": user["id"]}).status_code == 200
    response = _me(two, key_headers(created["key"]))
    assert (response.status_code, response.json["code"]) == (401, "USER_BANNED")


def test_a_key_served_from_memory_writes_nothing(make_app: Any) -> None:
    _, two, _, _, created = _warm_key(make_app)
    statements: list[str] = []
    with two.app_context():
        engine = db.engine

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", seen)
    try:
        for _ in range(20):
            assert _me(two, key_headers(created["key"])).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    # SQLite polls the revocation sequence (a read); PostgreSQL is told by LISTEN and reads nothing.
    assert not {"INSERT", "UPDATE", "DELETE"} & set(statements), statements


def test_last_request_is_stamped_in_batches(make_app: Any) -> None:
    app = make_app(**UNCOUNTED)
    client, _ = signed_in_client(app)
    created = create_key(client, name="ci")
    began = utcnow()
    for _ in range(3):
        assert _me(app, key_headers(created["key"])).status_code == 200

    def stored() -> Any:
        with app.app_context():
            row = db.session.get(ApiKey, created["id"])
            assert row is not None
            return row.last_request

    assert stored() is None  # nothing written per request
    shown = client.get(f"{API}/api-key/get", query_string={"id": created["id"]}).json["lastRequest"]
    assert shown is not None and shown >= began.isoformat()[:19]  # this process shows what it holds
    assert journal.flush(app) == 1
    written = stored()
    assert written is not None and written >= began - timedelta(seconds=1)
    # Flushes of several processes in any order: lastRequest only moves forward.
    with app.test_request_context():
        journal.record(created["id"], written - timedelta(hours=1))
    assert journal.flush(app) == 1
    assert stored() == written
    assert journal.close_journal(app) is True
    assert journal.flush(app) == 0


def test_a_revoked_session_is_refused_although_its_signature_was_remembered(make_app: Any) -> None:
    one, two = _workers(make_app)
    laptop = one.test_client()
    signed = signed_in_client(one, "cookie@example.com")[0]
    signed_token = sign_in(laptop, "cookie@example.com").headers["set-auth-token"]
    cookie = signed.get(f"{API}/get-session").request.headers["Cookie"]
    for _ in range(2):
        assert _me(two, {"Cookie": cookie}).status_code == 200
        assert _me(two, bearer(signed_token)).status_code == 200
    assert post(signed, "/revoke-sessions").status_code == 200
    assert _me(two, {"Cookie": cookie}).status_code == 401
    assert _me(two, bearer(signed_token)).status_code == 401


def test_a_banned_users_cookie_is_refused_by_the_other_worker_at_once(make_app: Any) -> None:
    one, two = _workers(make_app)
    client, user = signed_in_client(one, "banned@example.com")
    cookie = client.get(f"{API}/get-session").request.headers["Cookie"]
    assert _me(two, {"Cookie": cookie}).status_code == 200
    assert post(_admin(one), "/admin/ban-user", {"userId": user["id"]}).status_code == 200
    assert _me(two, {"Cookie": cookie}).status_code == 401


def test_a_remembered_signature_is_never_one_that_did_not_verify(make_app: Any) -> None:
    app = make_app()
    signed_in_client(app, "forged@example.com")
    token = sign_in(app.test_client(), "forged@example.com").headers["set-auth-token"]
    assert _me(app, bearer(token)).status_code == 200  # remembered now
    value, signature = token.rsplit(".", 1)
    forged = f"{value}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert _me(app, bearer(forged)).status_code == 401
    other = make_app(AUTH__SECRET="another secret of enough length 0123456789abcdef")
    assert _me(other, bearer(token)).status_code == 401  # signed with another app's secret


def test_get_session_hands_a_session_the_same_jwt_until_its_data_changes(make_app: Any) -> None:
    app = make_app()
    client, _ = signed_in_client(app, "jwt@example.com")
    first = client.get(f"{API}/get-session").headers["set-auth-jwt"]
    assert client.get(f"{API}/get-session").headers["set-auth-jwt"] == first
    assert client.get(f"{API}/token").json["token"] == first
    assert post(client, "/update-user", {"name": "renamed"}).status_code == 200
    renewed = client.get(f"{API}/get-session").headers["set-auth-jwt"]
    assert renewed != first
    assert _me(app, bearer(renewed)).json["user"]["name"] == "renamed"


def _rate_limited_key(app: Flask, user_id: str, maximum: int) -> tuple[str, str]:
    from app.modules.auth.api_key import KeyFields, create_api_key

    with app.app_context():
        row, plaintext = create_api_key(user_id, KeyFields(rate_limit_max=maximum, rate_limit_time_window=60_000))
        return row.id, plaintext


@pytest.mark.redis
def test_a_rate_limited_key_is_served_from_memory_and_counted_exactly_in_redis(make_app: Any, redis_url: str) -> None:
    one, two = make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)
    _, user = signed_in_client(one)
    _, key = _rate_limited_key(one, user["id"], 4)
    codes = [_me(app, key_headers(key)).status_code for app in (one, two, one, two, one, two)]
    assert codes == [200, 200, 200, 200, 429, 429]  # one window for both workers
    assert _in_memory(one, key) and _in_memory(two, key)
    refused = _me(two, key_headers(key))
    assert (refused.status_code, refused.json["code"]) == (429, "RATE_LIMITED")


def test_a_rate_limited_key_is_counted_in_the_database_while_redis_is_down(make_app: Any) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    one = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")  # nothing listens there
    two = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    _, user = signed_in_client(one)
    _, key = _rate_limited_key(one, user["id"], 3)
    codes = [_me(app, key_headers(key)).status_code for app in (one, two, one, two, one)]
    assert codes == [200, 200, 200, 429, 429]
