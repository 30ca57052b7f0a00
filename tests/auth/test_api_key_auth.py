"""``x-api-key`` on guarded application routes and on get-session: who it is, what it may do,
and each refusal with better-auth's code (reference §11, "Verification order")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from app.extensions import db
from app.modules.auth.api_key import KeyFields, create_api_key, verify_api_key
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.models import User, utcnow
from tests.auth.helpers import post
from tests.auth.test_api_key_support import (
    API,
    add_guarded_routes,
    create_key,
    key_headers,
    signed_in_client,
    stored_key,
)


def _server_key(app: Any, user_id: str, **fields: Any) -> tuple[str, str]:
    """A key with server-only fields (quota, rate limit, permissions), as application code creates one."""
    with app.app_context():
        row, plaintext = create_api_key(user_id, KeyFields(**fields))
        return row.id, plaintext


def _set(app: Any, key_id: str, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(ApiKey).where(ApiKey.id == key_id).values(**values))
        db.session.commit()


@pytest.fixture
def app(make_app: Any) -> Any:
    return add_guarded_routes(make_app())


def test_a_key_reaches_a_guarded_route_and_get_session_as_its_owner(app: Any) -> None:
    client, user = signed_in_client(app)
    key = create_key(client, name="ci")["key"]
    anonymous = app.test_client()

    assert anonymous.get("/api/v1/probe/auth").status_code == 401
    response = anonymous.get("/api/v1/probe/auth", headers=key_headers(key))
    assert response.status_code == 200
    assert response.json["user"] == user["id"]
    assert response.json["source"] == "api-key"

    session = anonymous.get(f"{API}/get-session", headers=key_headers(key))
    assert session.status_code == 200
    assert session.json["user"]["id"] == user["id"]
    assert session.json["session"]["userId"] == user["id"]
    assert "set-auth-jwt" not in session.headers  # no JWT minted from a key


def test_the_header_name_is_configurable(make_app: Any) -> None:
    app = add_guarded_routes(make_app(AUTH__API_KEY__HEADERS="x-service-token"))
    client, _ = signed_in_client(app)
    key = create_key(client)["key"]
    assert app.test_client().get("/api/v1/probe/auth", headers={"x-service-token": key}).status_code == 200
    assert app.test_client().get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 401


@pytest.mark.parametrize("case", ["unknown", "deleted", "disabled", "expired", "exhausted", "rate-limited"])
def test_refused_keys_answer_their_code(app: Any, case: str) -> None:
    client, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"], remaining=1, rate_limit_max=1, rate_limit_time_window=3_600_000)
    anonymous = app.test_client()
    expected = {
        "unknown": (401, "INVALID_API_KEY"),
        "deleted": (401, "INVALID_API_KEY"),
        "disabled": (401, "KEY_DISABLED"),
        "expired": (401, "KEY_EXPIRED"),
        "exhausted": (429, "USAGE_EXCEEDED"),
        "rate-limited": (429, "RATE_LIMITED"),
    }[case]
    if case == "unknown":
        key = key[:-1] + ("a" if key[-1] != "a" else "b")
    elif case == "deleted":
        assert post(client, "/api-key/delete", {"keyId": key_id}).status_code == 200
    elif case == "disabled":
        assert post(client, "/api-key/update", {"keyId": key_id, "enabled": False}).status_code == 200
    elif case == "expired":
        _set(app, key_id, expires_at=utcnow() - timedelta(seconds=1))
    elif case == "exhausted":
        _set(app, key_id, rate_limit_enabled=False)
        assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200
    else:
        _set(app, key_id, remaining=None)
        assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200

    response = anonymous.get("/api/v1/probe/auth", headers=key_headers(key))
    assert (response.status_code, response.json["code"]) == expected
    if case == "rate-limited":
        assert 0 < response.json["details"]["tryAgainIn"] <= 3_600_000
    if case in ("expired", "exhausted"):
        assert stored_key(app, key_id) is None  # better-auth deletes expired and spent keys
        expected = (401, "INVALID_API_KEY")
    response = anonymous.get(f"{API}/get-session", headers=key_headers(key))  # better-auth: an error, not null
    assert (response.status_code, response.json["code"]) == expected


def test_a_refused_key_is_not_rescued_by_another_credential(app: Any) -> None:
    client, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"])
    _set(app, key_id, enabled=False)
    token = client.get(f"{API}/get-session").json["session"]["token"]
    response = app.test_client().get(
        "/api/v1/probe/auth", headers={**key_headers(key), "Authorization": f"Bearer {token}"}
    )
    # x-api-key comes first in the precedence list: the refused key fails the request.
    assert (response.status_code, response.json["code"]) == (401, "KEY_DISABLED")
    response = client.get("/api/v1/probe/auth", headers=key_headers(key))  # the cookie does not rescue it either
    assert (response.status_code, response.json["code"]) == (401, "KEY_DISABLED")
    assert client.get("/api/v1/probe/auth").status_code == 200  # the cookie alone still works


def test_each_request_counts_exactly_once(app: Any) -> None:
    """better-auth counts a request twice when a route verifies and reads the session (#4023)."""
    client, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"], remaining=10)
    anonymous = app.test_client()
    for _ in range(3):
        assert anonymous.get(f"{API}/get-session", headers=key_headers(key)).status_code == 200
    assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200
    row = stored_key(app, key_id)
    assert row is not None
    assert row.remaining == 6
    counted = client.get(f"{API}/api-key/get", query_string={"id": key_id}).json
    assert (counted["requestCount"], counted["remaining"]) == (4, 6)
    assert counted["lastRequest"] is not None


def test_the_rate_limit_window_reopens(app: Any) -> None:
    _, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"], rate_limit_max=2, rate_limit_time_window=60_000)
    anonymous = app.test_client()
    assert [anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code for _ in range(3)] == [
        200, 200, 429
    ]
    # The window is better-auth's: measured from the last counted request. Move it into the past.
    redis = app.extensions.get("redis")
    if redis is not None:
        redis.delete(f"auth:apikey:rl:{key_id}")
    _set(app, key_id, last_request=utcnow() - timedelta(minutes=2))
    assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200


def test_a_due_refill_restores_the_quota(app: Any) -> None:
    _, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"], remaining=1, refill_amount=3, refill_interval=3_600_000,
                              rate_limit_enabled=False)
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200
    assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).json["code"] == "USAGE_EXCEEDED"
    assert stored_key(app, key_id) is not None  # a key that refills is kept
    _set(app, key_id, created_at=utcnow() - timedelta(hours=2), last_refill_at=None)
    assert anonymous.get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 200
    row = stored_key(app, key_id)
    assert row is not None and row.remaining == 2 and row.last_refill_at is not None


def test_key_permissions_are_authoritative(app: Any) -> None:
    client, user = signed_in_client(app)
    _, reader = _server_key(app, user["id"], permissions={"project": ["read"]})
    _, bare = _server_key(app, user["id"])
    # Even if the owner's memberships would allow everything, a key only gets its own grants.
    app.extensions["auth"].member_permission_check = lambda identity, permissions: True
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/probe/projects", headers=key_headers(reader)).status_code == 200
    response = anonymous.post("/api/v1/probe/projects", headers=key_headers(reader))
    assert (response.status_code, response.json["code"]) == (403, "FORBIDDEN")
    assert anonymous.get("/api/v1/probe/projects", headers=key_headers(bare)).status_code == 403
    # The owner's own session is not limited by the key's grants.
    assert client.post("/api/v1/probe/projects", headers={"Origin": "http://localhost"}).status_code == 200


def test_a_key_never_acts_as_admin(app: Any) -> None:
    client, user = signed_in_client(app)
    with app.app_context():
        db.session.execute(update(User).where(User.id == user["id"]).values(role="admin,editor"))
        db.session.commit()
    _, key = _server_key(app, user["id"])
    assert client.get("/api/v1/probe/admin").status_code == 200  # the admin's session is admin
    response = app.test_client().get("/api/v1/probe/admin", headers=key_headers(key))
    assert (response.status_code, response.json["code"]) == (403, "FORBIDDEN")
    session = app.test_client().get(f"{API}/get-session", headers=key_headers(key)).json
    assert session["user"]["role"] == "editor"


def test_a_banned_owners_key_is_refused(app: Any) -> None:
    _, user = signed_in_client(app)
    _, key = _server_key(app, user["id"])
    with app.app_context():
        db.session.execute(update(User).where(User.id == user["id"]).values(banned=True))
        db.session.commit()
    response = app.test_client().get("/api/v1/probe/auth", headers=key_headers(key))
    assert (response.status_code, response.json["code"]) == (401, "USER_BANNED")


def test_verify_api_key_server_function(app: Any) -> None:
    _, user = signed_in_client(app)
    key_id, key = _server_key(app, user["id"], permissions={"files": ["read", "write"]})
    with app.test_request_context():
        ok = verify_api_key(key, {"files": ["read"]})
        assert (ok["valid"], ok["error"], ok["key"]["id"]) == (True, None, key_id)
        assert "key" not in ok["key"]
        denied = verify_api_key(key, {"files": ["delete"]})
        assert (denied["valid"], denied["error"]["code"], denied["key"]) == (False, "KEY_NOT_FOUND", None)
        assert verify_api_key("x" * 64)["error"]["code"] == "INVALID_API_KEY"


def test_without_session_for_keys_the_header_is_ignored(make_app: Any) -> None:
    app = add_guarded_routes(make_app(AUTH__API_KEY__ENABLE_SESSION="false"))
    client, _ = signed_in_client(app)
    key = create_key(client)["key"]
    assert app.test_client().get(f"{API}/get-session", headers=key_headers(key)).json is None
    assert app.test_client().get("/api/v1/probe/auth", headers=key_headers(key)).status_code == 401
