"""The admin API (better-auth admin plugin, reference §7) through the real routes.

The admin is the bootstrap admin (``ADMIN__EMAIL``); every refusal is better-auth's code.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.helpers import ORIGIN, PASSWORD, post, sign_in, sign_up
from tests.conftest import AppFactory

ADMIN_EMAIL = "root@example.com"
ADMIN_PASSWORD = "root password 123"


@pytest.fixture
def admin_app(make_app: AppFactory) -> Flask:
    return make_app(ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD)


@pytest.fixture
def admin(admin_app: Flask) -> FlaskClient:
    client = admin_app.test_client()
    assert sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    return client


def get(client: FlaskClient, path: str, **query: Any) -> Any:
    return client.get(f"/api/v1/auth{path}", query_string=query, headers=ORIGIN)


def user_client(app: Flask, email: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    return client, sign_up(client, email)["user"]["id"]


def session_of(client: FlaskClient) -> Any:
    return client.get("/api/v1/auth/get-session").json


def refused(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["code"]


ROUTES = [
    ("post", "/admin/create-user", {"email": "x@example.com", "name": "X", "password": PASSWORD},
     "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS"),
    ("get", "/admin/list-users", {}, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS"),
    ("get", "/admin/get-user", {"id": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_GET_USER"),
    ("post", "/admin/update-user", {"userId": "someone", "data": {"name": "n"}}, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS"),
    ("post", "/admin/set-role", {"userId": "someone", "role": "admin"}, "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE"),
    ("post", "/admin/ban-user", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS"),
    ("post", "/admin/unban-user", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS"),
    ("post", "/admin/set-user-password", {"userId": "someone", "newPassword": PASSWORD},
     "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD"),
    ("post", "/admin/list-user-sessions", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS"),
    ("post", "/admin/revoke-user-session", {"sessionToken": "x"}, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"),
    ("post", "/admin/revoke-user-sessions", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"),
    ("post", "/admin/impersonate-user", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS"),
    ("post", "/admin/remove-user", {"userId": "someone"}, "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS"),
]


@pytest.mark.parametrize(("method", "path", "body", "code"), ROUTES, ids=[r[1] for r in ROUTES])
def test_a_plain_user_is_refused_and_anonymous_is_unauthorized(
    admin_app: Flask, method: str, path: str, body: dict[str, Any], code: str
) -> None:
    user, _ = user_client(admin_app, "ada@example.com")
    call = (lambda c: get(c, path, **body)) if method == "get" else (lambda c: post(c, path, body))
    assert refused(call(user)) == (403, code)
    assert call(admin_app.test_client()).status_code == 401


def test_create_user_then_sign_in(admin: FlaskClient, admin_app: Flask) -> None:
    response = post(admin, "/admin/create-user", {"email": "New@Example.com", "name": "New", "password": PASSWORD,
                                                   "role": "user", "data": {"firstname": "Neo", "emailVerified": True}})
    assert response.status_code == 200
    user = response.json["user"]
    assert (user["email"], user["role"], user["firstname"], user["emailVerified"]) == (
        "new@example.com", "user", "Neo", True)
    assert sign_in(admin_app.test_client(), "new@example.com").status_code == 200

    again = post(admin, "/admin/create-user", {"email": "new@example.com", "name": "N", "password": PASSWORD})
    assert refused(again) == (400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
    assert refused(post(admin, "/admin/create-user", {"email": "nope", "name": "N"})) == (400, "INVALID_EMAIL")
    bad_role = post(admin, "/admin/create-user", {"email": "r@example.com", "name": "R", "role": "wizard"})
    assert refused(bad_role) == (400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE")
    mass_body = {"email": "m@example.com", "name": "M", "data": {"twoFactorEnabled": True}}
    mass = post(admin, "/admin/create-user", mass_body)
    assert refused(mass) == (400, "FIELD_NOT_ALLOWED")
    short = post(admin, "/admin/create-user", {"email": "s@example.com", "name": "S", "password": "short"})
    assert refused(short) == (400, "PASSWORD_TOO_SHORT")


def test_list_users_searches_filters_sorts_and_pages(admin: FlaskClient, admin_app: Flask) -> None:
    for name in ("carol", "alice", "bob"):
        user_client(admin_app, f"{name}@example.com")
    everyone = get(admin, "/admin/list-users").json
    assert everyone["total"] == 4 and "limit" not in everyone and "offset" not in everyone

    page = get(admin, "/admin/list-users", sortBy="email", sortDirection="asc", limit=2, offset=1).json
    assert [u["email"] for u in page["users"]] == ["bob@example.com", "carol@example.com"]
    assert (page["total"], page["limit"], page["offset"]) == (4, 2, 1)
    desc = get(admin, "/admin/list-users", sortBy="name", sortDirection="desc").json
    assert [u["name"] for u in desc["users"]] == ["root", "carol", "bob", "alice"]

    found = get(admin, "/admin/list-users", searchValue="AL", searchField="email").json
    assert [u["email"] for u in found["users"]] == ["alice@example.com"] and found["total"] == 1
    starts = get(admin, "/admin/list-users", searchValue="b", searchField="name", searchOperator="starts_with").json
    assert [u["name"] for u in starts["users"]] == ["bob"]
    admins = get(admin, "/admin/list-users", filterField="role", filterValue="admin", filterOperator="eq").json
    assert [u["email"] for u in admins["users"]] == ["root@example.com"]
    not_admins = get(admin, "/admin/list-users", filterField="role", filterValue="admin", filterOperator="ne").json
    assert not_admins["total"] == 3
    # LIKE wildcards in a search are literal text.
    assert get(admin, "/admin/list-users", searchValue="%").json["total"] == 0
    assert refused(get(admin, "/admin/list-users", sortBy="password")) == (400, "VALIDATION_ERROR")


def test_get_and_update_user_answer_bare_users(admin: FlaskClient, admin_app: Flask) -> None:
    _, user_id = user_client(admin_app, "ada@example.com")
    got = get(admin, "/admin/get-user", id=user_id)
    assert got.status_code == 200 and got.json["id"] == user_id and "user" not in got.json
    assert refused(get(admin, "/admin/get-user", id="missing")) == (404, "USER_NOT_FOUND")

    updated = post(admin, "/admin/update-user", {"userId": user_id, "data": {"name": "Ada L", "bio": "math"}})
    assert updated.status_code == 200 and (updated.json["name"], updated.json["bio"]) == ("Ada L", "math")
    assert refused(post(admin, "/admin/update-user", {"userId": user_id, "data": {}})) == (400, "NO_DATA_TO_UPDATE")
    assert refused(post(admin, "/admin/update-user", {"userId": user_id, "data": {"password": "x"}})) == (
        400, "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER")
    assert refused(post(admin, "/admin/update-user", {"userId": user_id, "data": {"id": "x"}})) == (
        400, "USER_ID_CANNOT_BE_UPDATED")
    assert refused(post(admin, "/admin/update-user", {"userId": user_id, "data": {"role": "wizard"}})) == (
        400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE")
    assert refused(post(admin, "/admin/update-user", {"userId": user_id, "data": {"emailVerified": "yes"}})) == (
        400, "VALIDATION_ERROR")


def test_set_role_accepts_only_existing_roles_and_takes_effect_at_once(admin: FlaskClient, admin_app: Flask) -> None:
    user, user_id = user_client(admin_app, "ada@example.com")
    assert refused(post(admin, "/admin/set-role", {"userId": user_id, "role": "superuser"})) == (
        400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE")
    assert refused(post(admin, "/admin/set-role", {"userId": "missing", "role": "admin"})) == (404, "USER_NOT_FOUND")

    promoted = post(admin, "/admin/set-role", {"userId": user_id, "role": ["user", "admin"]})
    assert promoted.status_code == 200 and promoted.json["user"]["role"] == "user,admin"
    # A session that gains privileges is not reused: the promoted user signs in again.
    assert session_of(user) is None
    assert sign_in(user, "ada@example.com").status_code == 200
    assert get(user, "/admin/list-users").status_code == 200

    demoted = post(admin, "/admin/set-role", {"userId": user_id, "role": "user"})
    assert demoted.json["user"]["role"] == "user"
    # Demotion is seen by the very next request of the open session.
    assert refused(get(user, "/admin/list-users")) == (403, "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS")
    assert session_of(user)["user"]["role"] == "user"


def test_demoting_an_admin_ends_the_impersonations_they_run(admin: FlaskClient, admin_app: Flask) -> None:
    _, second_id = user_client(admin_app, "second@example.com")
    post(admin, "/admin/set-role", {"userId": second_id, "role": "admin"})
    second = admin_app.test_client()
    sign_in(second, "second@example.com")
    _, target_id = user_client(admin_app, "ada@example.com")
    assert post(second, "/admin/impersonate-user", {"userId": target_id}).status_code == 200
    assert session_of(second)["user"]["email"] == "ada@example.com"
    post(admin, "/admin/set-role", {"userId": second_id, "role": "user"})
    assert session_of(second) is None


def test_ban_ends_sessions_at_once_and_blocks_sign_in(admin: FlaskClient, admin_app: Flask) -> None:
    user, user_id = user_client(admin_app, "ada@example.com")
    bearer = user.get("/api/v1/auth/get-session").json["session"]["token"]
    response = post(admin, "/admin/ban-user", {"userId": user_id, "banReason": "spam", "banExpiresIn": 3600})
    assert response.status_code == 200
    banned = response.json["user"]
    assert (banned["banned"], banned["banReason"]) == (True, "spam") and banned["banExpires"]

    assert session_of(user) is None
    probe = admin_app.test_client()
    assert probe.get("/api/v1/auth/get-session", headers={"Authorization": f"Bearer {bearer}"}).json is None
    assert refused(sign_in(admin_app.test_client(), "ada@example.com")) == (403, "BANNED_USER")
    admin_id = session_of(admin)["user"]["id"]
    assert refused(post(admin, "/admin/ban-user", {"userId": admin_id})) == (400, "YOU_CANNOT_BAN_YOURSELF")

    lifted = post(admin, "/admin/unban-user", {"userId": user_id}).json["user"]
    assert (lifted["banned"], lifted["banReason"], lifted["banExpires"]) == (False, None, None)
    assert sign_in(admin_app.test_client(), "ada@example.com").status_code == 200


def test_ban_through_update_user_also_ends_sessions(admin: FlaskClient, admin_app: Flask) -> None:
    user, user_id = user_client(admin_app, "ada@example.com")
    assert post(admin, "/admin/update-user", {"userId": user_id, "data": {"banned": True}}).json["banned"] is True
    assert session_of(user) is None
    admin_id = session_of(admin)["user"]["id"]
    assert refused(post(admin, "/admin/update-user", {"userId": admin_id, "data": {"banned": True}})) == (
        400, "YOU_CANNOT_BAN_YOURSELF")


def test_set_user_password_replaces_it_and_ends_sessions(admin: FlaskClient, admin_app: Flask) -> None:
    user, user_id = user_client(admin_app, "ada@example.com")
    response = post(admin, "/admin/set-user-password", {"userId": user_id, "newPassword": "brand new passphrase"})
    assert response.json == {"status": True}
    assert session_of(user) is None
    assert refused(sign_in(admin_app.test_client(), "ada@example.com")) == (401, "INVALID_EMAIL_OR_PASSWORD")
    assert sign_in(admin_app.test_client(), "ada@example.com", "brand new passphrase").status_code == 200
    assert refused(post(admin, "/admin/set-user-password", {"userId": user_id, "newPassword": "x"})) == (
        400, "PASSWORD_TOO_SHORT")
    assert session_of(admin) is not None


def test_list_and_revoke_user_sessions_without_exposing_tokens(admin: FlaskClient, admin_app: Flask) -> None:
    first, user_id = user_client(admin_app, "ada@example.com")
    second = admin_app.test_client()
    sign_in(second, "ada@example.com")
    tokens = {session_of(c)["session"]["token"] for c in (first, second)}
    listed = post(admin, "/admin/list-user-sessions", {"userId": user_id}).json["sessions"]
    assert len(listed) == 2 and not tokens & {s["token"] for s in listed}
    assert all(s["token"] == s["id"] for s in listed)

    second_id = session_of(second)["session"]["id"]
    assert post(admin, "/admin/revoke-user-session", {"sessionToken": second_id}).json == {"success": True}
    assert session_of(second) is None and session_of(first) is not None
    assert post(admin, "/admin/revoke-user-sessions", {"userId": user_id}).json == {"success": True}
    assert session_of(first) is None


def test_impersonation_round_trip(admin: FlaskClient, admin_app: Flask) -> None:
    _, user_id = user_client(admin_app, "ada@example.com")
    admin_session = session_of(admin)["session"]
    response = post(admin, "/admin/impersonate-user", {"userId": user_id})
    assert response.status_code == 200
    session = response.json["session"]
    assert response.json["user"]["email"] == "ada@example.com"
    assert session["impersonatedBy"] == admin_session["userId"]
    from app.modules.auth.serializers import parse_iso

    lifetime = parse_iso(session["expiresAt"]) - parse_iso(session["createdAt"])  # type: ignore[operator]
    assert lifetime.total_seconds() == 3600
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("better-auth.admin_session=") and "Max-Age=604800" in c for c in cookies)
    kept = next(c for c in cookies if c.startswith("better-auth.session_token=") and "Max-Age=0" not in c)
    assert "Max-Age" not in kept  # the impersonation cookie dies with the browser
    now = session_of(admin)
    assert (now["user"]["email"], now["session"]["impersonatedBy"]) == ("ada@example.com", admin_session["userId"])

    stopped = post(admin, "/admin/stop-impersonating")
    assert stopped.status_code == 200
    assert stopped.json["user"]["email"] == ADMIN_EMAIL and stopped.json["session"]["id"] == admin_session["id"]
    assert session_of(admin)["session"]["token"] == admin_session["token"]
    # The impersonation session is gone for good.
    probe = admin_app.test_client()
    assert probe.get("/api/v1/auth/get-session", headers={"Authorization": f"Bearer {session['token']}"}).json is None
    assert refused(post(admin, "/admin/stop-impersonating")) == (400, "BAD_REQUEST")


def test_admins_cannot_be_impersonated_and_nesting_is_refused(admin: FlaskClient, admin_app: Flask) -> None:
    _, other_admin = user_client(admin_app, "second@example.com")
    post(admin, "/admin/set-role", {"userId": other_admin, "role": "admin"})
    assert refused(post(admin, "/admin/impersonate-user", {"userId": other_admin})) == (
        403, "YOU_CANNOT_IMPERSONATE_ADMINS")
    assert refused(post(admin, "/admin/impersonate-user", {"userId": "missing"})) == (404, "USER_NOT_FOUND")


def test_impersonating_admins_when_allowed(make_app: AppFactory) -> None:
    app = make_app(ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD,
                   AUTH__ADMIN__ALLOW_IMPERSONATING_ADMINS="true", AUTH__ADMIN__IMPERSONATION_SESSION_DURATION="600")
    admin = app.test_client()
    sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    _, other_admin = user_client(app, "second@example.com")
    post(admin, "/admin/set-role", {"userId": other_admin, "role": "admin"})
    response = post(admin, "/admin/impersonate-user", {"userId": other_admin})
    assert response.status_code == 200
    from app.modules.auth.serializers import parse_iso

    s = response.json["session"]
    assert (parse_iso(s["expiresAt"]) - parse_iso(s["createdAt"])).total_seconds() == 600  # type: ignore[operator]
    # Inside an impersonation no second one can start (the kept admin session would be lost).
    _, target = user_client(app, "ada@example.com")
    assert refused(post(admin, "/admin/impersonate-user", {"userId": target})) == (
        403, "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS")


def test_stop_impersonating_needs_the_kept_admin_session(admin: FlaskClient, admin_app: Flask) -> None:
    _, user_id = user_client(admin_app, "ada@example.com")
    token = post(admin, "/admin/impersonate-user", {"userId": user_id}).json["session"]["token"]
    thief = admin_app.test_client()  # holds the impersonation token but not the admin_session cookie
    response = thief.post("/api/v1/auth/admin/stop-impersonating", json={},
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json == {"code": "FAILED_TO_FIND_ADMIN_SESSION", "message": "Failed to find admin session"}


def test_remove_user(admin: FlaskClient, admin_app: Flask) -> None:
    user, user_id = user_client(admin_app, "ada@example.com")
    post(user, "/two-factor/enable", {"password": PASSWORD})
    assert post(admin, "/admin/remove-user", {"userId": user_id}).json == {"success": True}
    assert session_of(user) is None
    assert refused(post(admin, "/admin/remove-user", {"userId": user_id})) == (404, "USER_NOT_FOUND")
    assert refused(sign_in(admin_app.test_client(), "ada@example.com")) == (401, "INVALID_EMAIL_OR_PASSWORD")
    admin_id = session_of(admin)["user"]["id"]
    assert refused(post(admin, "/admin/remove-user", {"userId": admin_id})) == (400, "YOU_CANNOT_REMOVE_YOURSELF")
    from sqlalchemy import func, select

    from app.extensions import db
    from app.modules.auth.two_factor.models import TwoFactor

    with admin_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TwoFactor)) == 0


def test_has_permission_answers_for_the_callers_role(admin: FlaskClient, admin_app: Flask) -> None:
    user, _ = user_client(admin_app, "ada@example.com")
    ask = {"permissions": {"user": ["create", "ban"], "session": ["revoke"]}}
    assert post(admin, "/admin/has-permission", ask).json == {"error": None, "success": True}
    singular = {"permission": {"user": ["impersonate-admins"]}}
    assert post(admin, "/admin/has-permission", singular).json["success"] is False
    assert post(admin, "/admin/has-permission", {"permissions": {"project": ["read"]}}).json["success"] is False
    # userId/role in the body do not change whose permissions are checked (the session's).
    assert post(user, "/admin/has-permission", {**ask, "role": "admin"}).json == {"error": None, "success": False}
    assert post(user, "/admin/has-permission", {}).status_code == 400
    assert admin_app.test_client().post("/api/v1/auth/admin/has-permission", json=ask).status_code == 401


def test_admin_user_ids_pass_every_check(make_app: AppFactory) -> None:
    probe = make_app()
    client, user_id = user_client(probe, "ada@example.com")
    app = make_app(AUTH__ADMIN__ADMIN_USER_IDS=f"other,{user_id}")
    client = app.test_client()
    sign_in(client, "ada@example.com")
    assert get(client, "/admin/list-users").status_code == 200


@pytest.mark.redis
def test_a_ban_reaches_another_app_sharing_redis(make_app: AppFactory, redis_url: str) -> None:
    first = make_app(REDIS_URL=redis_url, ADMIN__EMAIL=ADMIN_EMAIL, ADMIN__PASSWORD=ADMIN_PASSWORD)
    second = make_app(REDIS_URL=redis_url)
    _, user_id = user_client(first, "ada@example.com")
    token = sign_in(first.test_client(), "ada@example.com").json["token"]
    reader = second.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert reader.get("/api/v1/auth/get-session", headers=headers).json["user"]["email"] == "ada@example.com"
    assert first.extensions["redis"].keys("auth:sess:*")  # the session is cached in the shared Redis
    admin = first.test_client()
    sign_in(admin, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert post(admin, "/admin/ban-user", {"userId": user_id}).status_code == 200
    assert reader.get("/api/v1/auth/get-session", headers=headers).json is None
    assert refused(sign_in(second.test_client(), "ada@example.com")) == (403, "BANNED_USER")
