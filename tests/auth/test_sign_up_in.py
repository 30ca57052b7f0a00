"""Sign-up, sign-in and sign-out: better-auth's shapes and codes, and the rules we add."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import Account, Session, User
from app.modules.auth.passwords import scrypt_hash
from tests.auth.helpers import ORIGIN, PASSWORD, bearer, post, sign_in, sign_up

USER_KEYS = {
    "id",
    "name",
    "email",
    "emailVerified",
    "image",
    "createdAt",
    "updatedAt",
    "role",
    "banned",
    "banReason",
    "banExpires",
    "firstname",
    "lastname",
    "bio",
    "twoFactorEnabled",
}


def test_sign_up_returns_token_user_cookie_and_bearer_header(client: Any) -> None:
    response = client.post(
        "/api/v1/auth/sign-up/email",
        json={"name": "Ann", "email": "Ann@Example.com", "password": PASSWORD, "firstname": "Ann", "bio": "hi"},
    )
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"token", "user"} and len(body["token"]) == 32
    assert set(body["user"]) == USER_KEYS
    assert body["user"]["email"] == "ann@example.com"  # lower-cased
    assert body["user"]["firstname"] == "Ann" and body["user"]["bio"] == "hi" and body["user"]["lastname"] is None
    assert body["user"]["role"] == "user" and body["user"]["banned"] is False
    assert body["user"]["createdAt"].endswith("Z")
    cookie = response.headers.getlist("Set-Cookie")[0]
    assert cookie.startswith(f"better-auth.session_token={body['token']}.")
    assert "Max-Age=604800; Path=/; HttpOnly; SameSite=Lax" in cookie and "Secure" not in cookie
    assert response.headers["set-auth-token"].startswith(body["token"] + ".")
    assert "set-auth-token" in response.headers["Access-Control-Expose-Headers"]


def test_session_token_is_stored_hashed(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    with app.app_context():
        stored = db.session.scalars(select(Session.token)).all()
    assert stored and token not in stored and all(len(t) == 64 for t in stored)


def test_duplicate_sign_up_is_422(make_app: Any) -> None:
    client = make_app().test_client()
    sign_up(client, "a@example.com")
    other = client.application.test_client()
    response = other.post(
        "/api/v1/auth/sign-up/email", json={"name": "x", "email": "A@example.com", "password": PASSWORD}
    )
    assert response.status_code == 422
    assert response.json["code"] == "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "x", "email": "a@example.com", "password": "short"}, 400, "PASSWORD_TOO_SHORT"),
        ({"name": "x", "email": "a@example.com", "password": "p" * 129}, 400, "PASSWORD_TOO_LONG"),
        ({"name": "x", "email": "not-an-email", "password": PASSWORD}, 400, "VALIDATION_ERROR"),
        ({"name": "x", "email": "a@example.com", "password": PASSWORD, "image": None}, 400, "VALIDATION_ERROR"),
        ({"name": "x" * 256, "email": "a@example.com", "password": PASSWORD}, 400, "VALIDATION_ERROR"),
        ({"name": "x", "email": "a@example.com", "password": PASSWORD, "bio": "b" * 5001}, 400, "VALIDATION_ERROR"),
        ({"email": "a@example.com", "password": PASSWORD}, 400, "VALIDATION_ERROR"),
    ],
)
def test_sign_up_validation(client: Any, body: dict[str, Any], status: int, code: str) -> None:
    response = client.post("/api/v1/auth/sign-up/email", json=body)
    assert response.status_code == status
    assert response.json["code"] == code
    assert response.json["message"]


def test_validation_message_names_the_field(client: Any) -> None:
    response = client.post("/api/v1/auth/sign-up/email", json={"name": "x", "email": "nope", "password": PASSWORD})
    assert response.json["message"] == "[body.email] Invalid email address"


def test_sign_up_accepts_form_bodies_and_refuses_other_types(client: Any) -> None:
    form = client.post("/api/v1/auth/sign-up/email", data={"name": "f", "email": "f@example.com", "password": PASSWORD})
    assert form.status_code == 200
    text = client.application.test_client().post(
        "/api/v1/auth/sign-up/email", data='{"name":"t"}', content_type="text/plain"
    )
    assert text.status_code == 415 and text.json["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_oversized_body_is_413(client: Any) -> None:
    response = client.post(
        "/api/v1/auth/sign-up/email", json={"name": "x", "email": "a@example.com", "password": "p" * (2 * 1024 * 1024)}
    )
    assert response.status_code == 413 and response.json["code"] == "PAYLOAD_TOO_LARGE"


def test_sign_in_shape_and_rotation(app: Flask, client: Any) -> None:
    first = sign_up(client, "a@example.com")["token"]
    response = sign_in(client, "a@example.com")
    assert response.status_code == 200
    body = response.json
    assert body["redirect"] is False and "url" not in body and body["token"] != first
    # Session fixation defence: the session presented at sign-in is gone.
    fresh = app.test_client()
    assert fresh.get("/api/v1/auth/get-session", headers=bearer(first)).json is None
    assert fresh.get("/api/v1/auth/get-session", headers=bearer(body["token"])).json["user"]["email"] == "a@example.com"


def test_sign_in_with_callback_url(client: Any) -> None:
    sign_up(client, "a@example.com")
    response = sign_in(client, "a@example.com", callbackURL="/dashboard")
    assert response.json["redirect"] is True and response.json["url"] == "/dashboard"
    assert response.headers["Location"] == "/dashboard"


def test_untrusted_callback_url_is_refused(client: Any) -> None:
    sign_up(client, "a@example.com")
    response = sign_in(client, "a@example.com", callbackURL="https://evil.example.net/x")
    assert response.status_code == 403 and response.json["code"] == "INVALID_CALLBACK_URL"


def test_remember_me_false_gives_a_browser_session_cookie(client: Any) -> None:
    sign_up(client, "a@example.com")
    response = sign_in(client, "a@example.com", rememberMe=False)
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("better-auth.session_token="))
    assert "Max-Age" not in session_cookie
    assert any(c.startswith("better-auth.dont_remember=true.") for c in cookies)


def test_wrong_password_and_unknown_email_answer_alike(client: Any) -> None:
    sign_up(client, "a@example.com")
    wrong = sign_in(client.application.test_client(), "a@example.com", "wrong password!")
    unknown = sign_in(client.application.test_client(), "nobody@example.com", "wrong password!")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json == {"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}


def test_unknown_email_costs_one_password_verification(
    app: Flask, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No enumeration by timing: both branches spend exactly one argon2 verification."""
    sign_up(client, "a@example.com")
    hasher = app.extensions["auth"].hasher
    calls: list[str] = []
    real = hasher._argon2

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def verify(self, *args: Any) -> Any:
            calls.append("verify")
            return real.verify(*args)

    monkeypatch.setattr(hasher, "_argon2", Counting())
    sign_in(app.test_client(), "a@example.com", "wrong password!")
    wrong_calls = len(calls)
    calls.clear()
    sign_in(app.test_client(), "nobody@example.com", "wrong password!")
    assert wrong_calls == len(calls) == 1


def test_better_auth_scrypt_hash_is_accepted_and_rehashed(app: Flask, client: Any) -> None:
    sign_up(client, "a@example.com")
    with app.app_context():
        account = db.session.scalar(select(Account))
        account.password = scrypt_hash("imported password")
        db.session.commit()
    assert sign_in(app.test_client(), "a@example.com", "imported password").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(Account.password)).startswith("$argon2id$")
    assert sign_in(app.test_client(), "a@example.com", "imported password").status_code == 200


def test_email_verification_required(make_app: Any) -> None:
    app = make_app(AUTH__REQUIRE_EMAIL_VERIFICATION="true")
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/sign-up/email", json={"name": "a", "email": "a@example.com", "password": PASSWORD}
    )
    assert response.json["token"] is None and not response.headers.getlist("Set-Cookie")
    refused = sign_in(app.test_client(), "a@example.com")
    assert refused.status_code == 403 and refused.json["code"] == "EMAIL_NOT_VERIFIED"


def test_banned_user_cannot_sign_in(app: Flask, client: Any) -> None:
    sign_up(client, "a@example.com")
    with app.app_context():
        user = db.session.scalar(select(User))
        user.banned = True
        db.session.commit()
    response = sign_in(app.test_client(), "a@example.com")
    assert response.status_code == 403 and response.json["code"] == "BANNED_USER"


def test_sign_out_kills_the_session(app: Flask, client: Any) -> None:
    token = sign_up(client, "a@example.com")["token"]
    response = post(client, "/sign-out")
    assert response.json == {"success": True}
    cleared = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("better-auth.session_token=;") and "Max-Age=0" in c for c in cleared)
    assert app.test_client().get("/api/v1/auth/get-session", headers=bearer(token)).json is None


def test_cookie_post_without_origin_is_refused(client: Any) -> None:
    sign_up(client, "a@example.com")
    response = client.post("/api/v1/auth/sign-out", json={})
    assert response.status_code == 403 and response.json["code"] == "MISSING_OR_NULL_ORIGIN"
    evil = client.post("/api/v1/auth/sign-out", json={}, headers={"Origin": "https://evil.example.net"})
    assert evil.status_code == 403 and evil.json["code"] == "INVALID_ORIGIN"
    assert client.get("/api/v1/auth/get-session").json is not None  # still signed in
    assert client.post("/api/v1/auth/sign-out", json={}, headers=ORIGIN).status_code == 200
