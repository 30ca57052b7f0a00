"""The database is the truth for revocation: no cache (Redis, this process's memory) and no JWT
answers for a session after it was revoked, its user banned or changed, also when Redis lost the
write or was down while it happened.

Two apps on one database (and one Redis) stand for two gunicorn workers; the drills in
``tests/faults`` do the same against real gunicorn, PostgreSQL and Redis processes.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app.modules.auth.crypto import hash_token
from app.modules.auth.sessions import CACHE_PREFIX
from tests.auth.helpers import bearer, post, sign_in, sign_up
from tests.conftest import _truncate_all

ADMIN = {"ADMIN__EMAIL": "root@example.com", "ADMIN__PASSWORD": "root password 123"}


def _me(app: Flask, headers: dict[str, str]) -> int:
    return app.test_client().get("/api/v1/me", headers=headers).status_code


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


@pytest.mark.redis
def test_a_redis_that_lost_the_revocation_cannot_bring_the_session_back(make_app: Any, redis_url: str) -> None:
    one, two = make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)
    laptop = one.test_client()
    sign_up(laptop, "a@example.com")
    phone = sign_in(one.test_client(), "a@example.com").json["token"]
    assert _me(two, bearer(phone)) == 200  # worker two filled the Redis copy
    redis = two.extensions["redis"]
    key = CACHE_PREFIX + hash_token(phone)
    snapshot = redis.get(key)  # what an RDB snapshot taken now holds
    assert snapshot and b'"ep"' in snapshot
    assert post(laptop, "/revoke-other-sessions").json == {"status": True}
    # Redis comes back from the old snapshot (or a lagging replica takes over): the copy is back,
    # the stale marker is gone.
    redis.flushdb()  # FLUSHALL for this app (its own database: the other xdist worker keeps its keys)
    redis.set(key, snapshot, ex=300)
    assert _me(two, bearer(phone)) == 401
    assert _me(one, bearer(phone)) == 401
    assert two.test_client().get("/api/v1/auth/get-session", headers=bearer(phone)).json is None
    # The untrusted copy was replaced (the session is gone: deleted), not left to be tried again.
    assert redis.get(key) is None


@pytest.mark.redis
def test_a_ban_survives_a_redis_flush_and_restore(make_app: Any, redis_url: str) -> None:
    one, two = make_app(REDIS_URL=redis_url, **ADMIN), make_app(REDIS_URL=redis_url, **ADMIN)
    admin = one.test_client()
    assert sign_in(admin, ADMIN["ADMIN__EMAIL"], ADMIN["ADMIN__PASSWORD"]).status_code == 200
    user = two.test_client()
    body = sign_up(user, "b@example.com")
    token = body["token"]
    assert _me(two, bearer(token)) == 200
    redis = two.extensions["redis"]
    copies = {key: redis.get(key) for key in redis.scan_iter(CACHE_PREFIX + "*")}
    assert post(admin, "/admin/ban-user", {"userId": body["user"]["id"]}).status_code == 200
    redis.flushdb()  # FLUSHALL for this app (its own database: the other xdist worker keeps its keys)
    for key, value in copies.items():
        redis.set(key, value, ex=300)
    assert _me(two, bearer(token)) == 401


def test_revocations_apply_while_redis_is_down(make_app: Any) -> None:
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{_closed_port()}/0", **ADMIN)
    client = app.test_client()
    sign_up(client, "c@example.com")
    other = sign_in(app.test_client(), "c@example.com").json["token"]
    assert _me(app, bearer(other)) == 200  # served from the database, Redis refused
    assert post(client, "/revoke-other-sessions").status_code == 200
    assert _me(app, bearer(other)) == 401
    admin = app.test_client()
    assert sign_in(admin, ADMIN["ADMIN__EMAIL"], ADMIN["ADMIN__PASSWORD"]).status_code == 200
    user_id = client.get("/api/v1/auth/get-session").json["user"]["id"]
    assert post(admin, "/admin/ban-user", {"userId": user_id}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401
    assert post(client, "/sign-out").status_code == 200
    health = app.test_client().get("/api/v1/readyz")
    assert health.status_code == 200
    assert health.json["components"]["redis"]["status"] == "DEGRADED"


def test_memory_copies_never_outlive_a_revocation_in_another_worker(make_app: Any) -> None:
    one, two = make_app(AUTH__SESSION__MEMORY_CACHE="true"), make_app(AUTH__SESSION__MEMORY_CACHE="true")
    laptop = one.test_client()
    sign_up(laptop, "d@example.com")
    for _ in range(5):
        phone = sign_in(one.test_client(), "d@example.com").json["token"]
        assert _me(two, bearer(phone)) == 200
        assert _me(two, bearer(phone)) == 200  # from worker two's memory
        assert post(laptop, "/revoke-other-sessions").json == {"status": True}
        assert _me(two, bearer(phone)) == 401  # the very next request
    token = laptop.get("/api/v1/auth/get-session").json["session"]["token"]
    assert _me(two, bearer(token)) == 200
    assert post(laptop, "/update-user", {"name": "renamed"}).status_code == 200
    assert two.test_client().get("/api/v1/me", headers=bearer(token)).json["user"]["name"] == "renamed"


def test_a_jwt_dies_with_its_session_and_its_user(make_app: Any) -> None:
    one, two = make_app(**ADMIN), make_app(**ADMIN)
    laptop = one.test_client()
    sign_up(laptop, "e@example.com")
    phone = one.test_client()
    sign_in(phone, "e@example.com")
    jwt_phone = phone.get("/api/v1/auth/token").json["token"]
    jwt_laptop = laptop.get("/api/v1/auth/token").json["token"]
    assert _me(two, bearer(jwt_phone)) == 200 and _me(two, bearer(jwt_laptop)) == 200
    assert post(laptop, "/revoke-other-sessions").status_code == 200
    assert _me(two, bearer(jwt_phone)) == 401  # its session is gone
    assert _me(two, bearer(jwt_laptop)) == 200  # another session's token lives on
    admin = one.test_client()
    assert sign_in(admin, ADMIN["ADMIN__EMAIL"], ADMIN["ADMIN__PASSWORD"]).status_code == 200
    user_id = laptop.get("/api/v1/auth/get-session").json["user"]["id"]
    assert post(admin, "/admin/set-role", {"userId": user_id, "role": "admin"}).status_code == 200
    assert _me(two, bearer(jwt_laptop)) == 401  # issued before the role change


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """PostgreSQL whatever the backend of the run: only it has a LISTEN thread."""
    url: str = request.getfixturevalue("pg_database")
    yield url
    _truncate_all(url)


@pytest.mark.postgres
def test_a_jwt_is_refused_while_its_revocation_waits_unapplied_on_the_listener(make_app: Any, pg_url: str) -> None:
    """A process whose listener took a notification off its socket and has not applied it (a slow
    or hung thread: ``applying``) reads the events from the database before trusting a JWT."""
    from app.modules.auth.revocation import revocation_state, stop_listener

    one, two = make_app(DATABASE_URL=pg_url), make_app(DATABASE_URL=pg_url)
    laptop = one.test_client()
    sign_up(laptop, "g@example.com")
    phone = one.test_client()
    sign_in(phone, "g@example.com")
    jwt_phone = phone.get("/api/v1/auth/token").json["token"]
    assert _me(two, bearer(jwt_phone)) == 200
    state = revocation_state(two)
    assert stop_listener(two) and state.listens
    state.connected, state.applying = True, True  # as a listener caught between receiving and applying
    assert post(laptop, "/revoke-other-sessions").status_code == 200
    assert _me(two, bearer(jwt_phone)) == 401


def test_a_poll_that_the_listener_overtakes_forgets_nothing(make_app: Any) -> None:
    """The listener (or another thread) may apply newer events while a poll reads the sequence: the
    poll must not take its older reading for a restored database and drop what was applied."""
    from sqlalchemy import event

    from app.extensions import db
    from app.modules.auth.revocation import known_epoch, poll, revocation_state

    app = make_app()
    laptop = app.test_client()
    sign_up(laptop, "h@example.com")
    sign_in(app.test_client(), "h@example.com")
    assert post(laptop, "/revoke-other-sessions").status_code == 200
    with app.app_context():
        state = revocation_state()
        known_epoch()
        remembered = dict(state.latest)
        assert remembered and state.known > 0
        overtaken = state.known + 5

        def listener_applies_meanwhile(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if "revocation_epoch" in statement and state.known < overtaken:
                state.known = overtaken  # as the LISTEN thread applying newer events would

        event.listen(db.engine, "after_cursor_execute", listener_applies_meanwhile)
        try:
            poll(state)
        finally:
            event.remove(db.engine, "after_cursor_execute", listener_applies_meanwhile)
        assert state.known == overtaken
        assert all(state.latest.get(subject) == seqs for subject, seqs in remembered.items())


def test_stateless_jwts_live_until_they_expire(make_app: Any) -> None:
    app = make_app(AUTH__JWT__STATELESS="true")
    laptop = app.test_client()
    sign_up(laptop, "f@example.com")
    phone = app.test_client()
    sign_in(phone, "f@example.com")
    jwt_phone = phone.get("/api/v1/auth/token").json["token"]
    assert post(laptop, "/revoke-other-sessions").status_code == 200
    assert _me(app, bearer(jwt_phone)) == 200  # documented: stateless means exactly this
