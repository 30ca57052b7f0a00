"""Redis-backed session lookups: shared by every process, never staler than the database.

Two apps on one database and one Redis stand for two gunicorn workers (or two machines).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import hash_token
from app.modules.auth.models import User
from app.modules.auth.sessions import CACHE_PREFIX, invalidate_user
from tests.auth.helpers import bearer, post, sign_in, sign_up

pytestmark = pytest.mark.redis


@pytest.fixture
def workers(make_app: Any, redis_url: str) -> tuple[Flask, Flask]:
    return make_app(REDIS_URL=redis_url), make_app(REDIS_URL=redis_url)


def _session(app: Flask, token: str) -> Any:
    return app.test_client().get("/api/v1/auth/get-session", headers=bearer(token)).json


def test_lookups_are_served_from_redis(workers: tuple[Flask, Flask]) -> None:
    one, two = workers
    token = sign_up(one.test_client(), "a@example.com")["token"]
    assert _session(two, token)["user"]["email"] == "a@example.com"
    redis = two.extensions["redis"]
    assert redis.get(CACHE_PREFIX + hash_token(token))  # cached after the first lookup
    # A change made behind the cache's back (no invalidation) is not seen: proof the cache answers.
    with two.app_context():
        user = db.session.scalar(select(User))
        user.name = "changed directly"
        user_id = user.id
        db.session.commit()
    assert _session(two, token)["user"]["name"] == "a"
    with two.app_context():
        invalidate_user(user_id)
    assert _session(two, token)["user"]["name"] == "changed directly"


def test_revocation_is_seen_by_the_other_worker_at_once(workers: tuple[Flask, Flask]) -> None:
    one, two = workers
    laptop = one.test_client()
    sign_up(laptop, "a@example.com")
    phone_token = sign_in(one.test_client(), "a@example.com").json["token"]
    assert _session(two, phone_token) is not None  # warm worker two's cache
    assert post(laptop, "/revoke-other-sessions").json == {"status": True}
    assert _session(two, phone_token) is None
    assert _session(one, phone_token) is None


def test_sign_out_and_password_change_are_seen_everywhere(workers: tuple[Flask, Flask]) -> None:
    one, two = workers
    client = one.test_client()
    token = sign_up(client, "a@example.com")["token"]
    assert _session(two, token) is not None
    post(client, "/change-password", {"currentPassword": "correct horse battery", "newPassword": "another password"})
    assert _session(two, token) is None


def test_profile_update_is_seen_by_the_other_worker(workers: tuple[Flask, Flask]) -> None:
    one, two = workers
    client = one.test_client()
    token = sign_up(client, "a@example.com")["token"]
    assert _session(two, token)["user"]["bio"] is None
    post(client, "/update-user", {"bio": "updated"})
    assert _session(two, token)["user"]["bio"] == "updated"


def test_a_stale_marker_blocks_a_racing_cache_fill(workers: tuple[Flask, Flask]) -> None:
    one, _ = workers
    token = sign_up(one.test_client(), "a@example.com")["token"]
    redis = one.extensions["redis"]
    key = CACHE_PREFIX + hash_token(token)
    redis.delete(key)
    with one.app_context():
        user_id = db.session.scalar(select(User.id))
        invalidate_user(user_id)  # a write happened: marker in place
    assert redis.get(key) == b"-"
    assert _session(one, token) is not None  # read from the database...
    assert redis.get(key) == b"-"  # ...and not written back over the marker


def test_redis_down_falls_back_to_the_database(make_app: Any) -> None:
    app: Flask = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    token = sign_up(app.test_client(), "a@example.com")["token"]
    assert _session(app, token)["user"]["email"] == "a@example.com"
