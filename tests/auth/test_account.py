"""The user's own account: profile, password, email verification and change, reset, deletion."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import User, Verification
from tests.auth.helpers import PASSWORD, bearer, post, read_outbox, sign_in, sign_up


@pytest.fixture
def outbox(tmp_path: Path) -> str:
    return str(tmp_path / "outbox.jsonl")


@pytest.fixture
def mail_app(make_app: Any, outbox: str) -> Flask:
    app: Flask = make_app(MAIL__BACKEND="file", MAIL__FILE=outbox)
    return app


def test_update_user_profile_fields(client: Any) -> None:
    sign_up(client, "a@example.com")
    response = post(client, "/update-user", {"name": "Ann", "firstname": "Ann", "lastname": "Lee", "bio": "Hello"})
    assert response.json == {"status": True}
    user = client.get("/api/v1/auth/get-session?disableCookieCache=true").json["user"]
    assert (user["name"], user["firstname"], user["lastname"], user["bio"]) == ("Ann", "Ann", "Lee", "Hello")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "b@example.com"}, "EMAIL_CAN_NOT_BE_UPDATED"),
        ({}, "NO_FIELDS_TO_UPDATE"),
        ({"lastname": "x" * 256}, "VALIDATION_ERROR"),
        ({"name": None}, "VALIDATION_ERROR"),
    ],
)
def test_update_user_refusals(client: Any, body: dict[str, Any], code: str) -> None:
    sign_up(client, "a@example.com")
    response = post(client, "/update-user", body)
    assert response.status_code == 400 and response.json["code"] == code


def test_change_password_ends_every_other_session_and_rotates(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    old_token = sign_up(laptop, "a@example.com")["token"]
    sign_in(phone, "a@example.com")
    response = post(
        laptop,
        "/change-password",
        {"currentPassword": PASSWORD, "newPassword": "a new password", "revokeOtherSessions": True},
    )
    assert response.status_code == 200
    new_token = response.json["token"]
    assert new_token and new_token != old_token
    assert phone.get("/api/v1/auth/get-session").json is None
    assert app.test_client().get("/api/v1/auth/get-session", headers=bearer(old_token)).json is None
    assert laptop.get("/api/v1/auth/get-session").json["session"]["token"] == new_token
    assert sign_in(app.test_client(), "a@example.com").status_code == 401
    assert sign_in(app.test_client(), "a@example.com", "a new password").status_code == 200


def test_change_password_without_revoke_flag_still_rotates(app: Flask) -> None:
    laptop, phone = app.test_client(), app.test_client()
    sign_up(laptop, "a@example.com")
    sign_in(phone, "a@example.com")
    response = post(laptop, "/change-password", {"currentPassword": PASSWORD, "newPassword": "a new password"})
    assert response.json["token"] is None
    assert phone.get("/api/v1/auth/get-session").json is None  # stricter than better-auth, on purpose
    assert laptop.get("/api/v1/auth/get-session").json is not None


def test_change_password_refusals(client: Any) -> None:
    sign_up(client, "a@example.com")
    wrong = post(client, "/change-password", {"currentPassword": "not it at all", "newPassword": "another one"})
    assert wrong.status_code == 400 and wrong.json["code"] == "INVALID_PASSWORD"
    short = post(client, "/change-password", {"currentPassword": PASSWORD, "newPassword": "short"})
    assert short.status_code == 400 and short.json["code"] == "PASSWORD_TOO_SHORT"


def test_verify_password(client: Any) -> None:
    sign_up(client, "a@example.com")
    assert post(client, "/verify-password", {"password": PASSWORD}).json == {"status": True}
    assert post(client, "/verify-password", {"password": "nope nope"}).json["code"] == "INVALID_PASSWORD"


def test_list_accounts(client: Any) -> None:
    user = sign_up(client, "a@example.com")["user"]
    accounts = client.get("/api/v1/auth/list-accounts").json
    assert len(accounts) == 1
    assert accounts[0]["providerId"] == "credential" and accounts[0]["accountId"] == user["id"]
    assert "password" not in accounts[0]


def test_delete_user_is_off_by_default(client: Any) -> None:
    assert post(client, "/delete-user", {}).status_code == 401  # the session is checked first, as better-auth
    sign_up(client, "a@example.com")
    for body in ({}, {"password": PASSWORD}):
        response = post(client, "/delete-user", body)
        assert (response.status_code, response.json["code"]) == (404, "NOT_FOUND")
    assert client.get("/api/v1/auth/get-session").json["user"]["email"] == "a@example.com"


def test_delete_user(make_app: Any) -> None:
    app = make_app(AUTH__DELETE_USER__ENABLED="true")
    client = app.test_client()
    sign_up(client, "a@example.com")
    assert post(client, "/delete-user", {"password": "wrong password"}).json["code"] == "INVALID_PASSWORD"
    response = post(client, "/delete-user", {"password": PASSWORD})
    assert response.json == {"success": True, "message": "User deleted"}
    with app.app_context():
        assert db.session.scalar(select(User)) is None
    assert sign_in(app.test_client(), "a@example.com").status_code == 401


def test_email_verification_flow(mail_app: Flask, outbox: str) -> None:
    client = mail_app.test_client()
    sign_up(client, "a@example.com")
    assert post(client, "/send-verification-email", {"email": "a@example.com", "callbackURL": "/welcome"}).json == {
        "status": True
    }
    (mail,) = read_outbox(outbox, "a@example.com")
    link = urlparse(mail["url"])
    assert link.path == "/api/v1/auth/verify-email"
    response = client.get(f"{link.path}?{link.query}")
    assert response.status_code == 302 and response.headers["Location"] == "/welcome"
    assert client.get("/api/v1/auth/get-session").json["user"]["emailVerified"] is True


def test_verification_email_refusals(mail_app: Flask, outbox: str) -> None:
    client = mail_app.test_client()
    sign_up(client, "a@example.com")
    mismatch = post(client, "/send-verification-email", {"email": "b@example.com"})
    assert mismatch.status_code == 400 and mismatch.json["code"] == "EMAIL_MISMATCH"
    unknown = post(mail_app.test_client(), "/send-verification-email", {"email": "nobody@example.com"})
    assert unknown.json == {"status": True}
    bad = client.get("/api/v1/auth/verify-email?token=not-a-token")
    assert bad.status_code == 401 and bad.json["code"] == "INVALID_TOKEN"
    redirected = client.get("/api/v1/auth/verify-email?token=bad&callbackURL=/done")
    assert redirected.status_code == 302 and redirected.headers["Location"] == "/done?error=INVALID_TOKEN"


def test_change_email_flow(mail_app: Flask, outbox: str) -> None:
    client = mail_app.test_client()
    sign_up(client, "a@example.com")
    sign_up(mail_app.test_client(), "taken@example.com")
    assert post(client, "/change-email", {"newEmail": "a@example.com"}).json["code"] == "EMAIL_IS_THE_SAME"
    assert post(client, "/change-email", {"newEmail": "taken@example.com"}).json == {"status": True}
    assert post(client, "/change-email", {"newEmail": "new@example.com"}).json == {"status": True}
    (mail,) = read_outbox(outbox, "new@example.com")
    assert read_outbox(outbox, "taken@example.com", timeout=0.2) == []  # nothing revealed, nothing sent
    link = urlparse(mail["url"])
    assert parse_qs(link.query)["callbackURL"] == ["/"]  # as better-auth: home after the change
    followed = client.get(f"{link.path}?{link.query}")
    assert followed.status_code == 302 and followed.headers["Location"] == "/"
    assert any(c.startswith("better-auth.session_token=") for c in followed.headers.getlist("Set-Cookie"))
    user = client.get("/api/v1/auth/get-session").json["user"]
    assert user["email"] == "new@example.com" and user["emailVerified"] is True
    # The token is spent once the email changed (better-auth's can be replayed until it expires).
    replay = client.get(f"{link.path}?{link.query}")
    assert replay.status_code == 302 and replay.headers["Location"] == "/?error=USER_NOT_FOUND"


def test_password_reset_flow(mail_app: Flask, outbox: str) -> None:
    laptop = mail_app.test_client()
    sign_up(laptop, "a@example.com")
    anonymous = mail_app.test_client()
    known = post(anonymous, "/request-password-reset", {"email": "a@example.com", "redirectTo": "/reset"})
    unknown = post(anonymous, "/request-password-reset", {"email": "nobody@example.com", "redirectTo": "/reset"})
    assert known.json == unknown.json and known.json["status"] is True
    (mail,) = read_outbox(outbox, "a@example.com")
    link = urlparse(mail["url"])
    token = link.path.rsplit("/", 1)[1]
    redirect = anonymous.get(f"{link.path}?{link.query}")
    assert redirect.status_code == 302
    assert parse_qs(urlparse(redirect.headers["Location"]).query)["token"] == [token]
    with mail_app.app_context():
        identifiers = db.session.scalars(select(Verification.identifier)).all()
    assert identifiers and all(token not in i for i in identifiers)  # stored hashed
    assert post(anonymous, "/reset-password", {"newPassword": "brand new password", "token": token}).json == {
        "status": True
    }
    assert laptop.get("/api/v1/auth/get-session").json is None  # every session ended
    signed_in = sign_in(mail_app.test_client(), "a@example.com", "brand new password")
    assert signed_in.status_code == 200
    assert signed_in.json["user"]["emailVerified"] is True  # the link proved the mailbox
    reused = post(anonymous, "/reset-password", {"newPassword": "yet another one", "token": token})
    assert reused.status_code == 400 and reused.json["code"] == "INVALID_TOKEN"
    bad = anonymous.get("/api/v1/auth/reset-password/nope?callbackURL=/reset")
    assert bad.headers["Location"].endswith("/reset?error=INVALID_TOKEN")
