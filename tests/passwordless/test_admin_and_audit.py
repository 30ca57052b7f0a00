"""Admins list and remove users' passkeys (API and ``flask auth passkeys``); every passwordless
method leaves audit entries, and no code, token or key material reaches them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import User
from tests.auth.helpers import ORIGIN, sign_up, verify_email
from tests.conftest import AppFactory
from tests.passwordless.authenticator import SoftAuthenticator
from tests.passwordless.conftest import SmtpApp, code_in, link_in
from tests.passwordless.test_passkey import authenticate, register

ALL_ON = {
    "AUTH__PASSKEY__ENABLED": "true",
    "AUTH__MAGIC_LINK__ENABLED": "true",
    "AUTH__EMAIL_OTP__ENABLED": "true",
    "ADMIN__EMAIL": "root@example.com",
    "ADMIN__PASSWORD": "root password 123",
}


def admin_client(app: Flask) -> Any:
    client = app.test_client()
    signed = client.post(
        "/api/v1/auth/sign-in/email",
        json={"email": "root@example.com", "password": "root password 123"},
        headers=ORIGIN,
    )
    assert signed.status_code == 200, signed.json
    return client


def user_with_passkey(app: Flask, email: str = "pk@example.com") -> tuple[Any, str, SoftAuthenticator, str]:
    client = app.test_client()
    user_id = sign_up(client, email)["user"]["id"]
    key = SoftAuthenticator("http://localhost", "localhost")
    passkey_id = register(client, key).json["id"]
    return client, user_id, key, passkey_id


def test_admins_list_and_remove_a_users_passkeys(make_app: AppFactory) -> None:
    app = make_app(**ALL_ON)
    client, user_id, key, passkey_id = user_with_passkey(app)
    admin = admin_client(app)
    listed = admin.get(f"/api/v1/auth/admin/list-user-passkeys?userId={user_id}")
    assert [p["id"] for p in listed.json] == [passkey_id]
    refused = client.get(f"/api/v1/auth/admin/list-user-passkeys?userId={user_id}")
    assert (refused.status_code, refused.json["code"]) == (403, "YOU_ARE_NOT_ALLOWED_TO_GET_USER")
    not_yours = client.post("/api/v1/auth/admin/remove-user-passkey", json={"userId": user_id}, headers=ORIGIN)
    assert not_yours.status_code == 403

    missing = admin.post(
        "/api/v1/auth/admin/remove-user-passkey", json={"userId": user_id, "passkeyId": "nope"}, headers=ORIGIN
    )
    assert (missing.status_code, missing.json["code"]) == (404, "PASSKEY_NOT_FOUND")
    removed = admin.post(
        "/api/v1/auth/admin/remove-user-passkey", json={"userId": user_id, "passkeyId": passkey_id}, headers=ORIGIN
    )
    assert removed.json == {"success": True, "removed": 1}
    # The user's sessions ended with it, and the passkey signs nobody in any more.
    assert client.get("/api/v1/auth/get-session").json is None
    refused_key = authenticate(app.test_client(), key)
    assert (refused_key.status_code, refused_key.json["code"]) == (401, "PASSKEY_NOT_FOUND")


def test_the_cli_lists_and_removes_passkeys(make_app: AppFactory) -> None:
    app = make_app(**ALL_ON)
    _, _, key, passkey_id = user_with_passkey(app)
    user_with_passkey(app, "second@example.com")
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["auth", "passkeys", "list", "PK@example.com"])
    assert listed.exit_code == 0 and passkey_id in listed.output and "laptop" in listed.output
    assert runner.invoke(args=["auth", "passkeys", "remove", "pk@example.com"]).exit_code == 2
    unknown = runner.invoke(args=["auth", "passkeys", "remove", "nobody@example.com", "--all"])
    assert unknown.exit_code == 1 and "no user" in unknown.output
    removed = runner.invoke(args=["auth", "passkeys", "remove", "pk@example.com", "--all"])
    assert removed.exit_code == 0 and "removed 1 passkey" in removed.output
    assert authenticate(app.test_client(), key).status_code == 401
    second = runner.invoke(args=["auth", "passkeys", "list", "second@example.com"])
    assert second.output.count("\n") == 1


def _entries(app: Flask) -> list[dict[str, Any]]:
    from app.modules.audit.models import AuditLog

    assert app.extensions["audit_logger"].flush(10)
    with app.app_context():
        rows = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        return [{"action": r.action, "actor_id": r.actor_id, "details": r.details} for r in rows]


@pytest.mark.modules("audit")
def test_every_method_is_audited_without_secrets(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(MODULES__AUDIT="true", **ALL_ON)
    client, user_id, key, passkey_id = user_with_passkey(app)
    verify_email(app, "pk@example.com")  # else the mailed proofs would strip the unproven passkey
    assert authenticate(app.test_client(), key).status_code == 200
    assert authenticate(app.test_client(), key, counter=1).status_code == 401
    client.post("/api/v1/auth/passkey/update-passkey", json={"id": passkey_id, "name": "phone"}, headers=ORIGIN)

    otp = app.test_client()
    otp.post(
        "/api/v1/auth/email-otp/send-verification-otp",
        json={"email": "pk@example.com", "type": "sign-in"},
        headers=ORIGIN,
    )
    code = code_in(box.wait("pk@example.com"))
    wrong = "000000" if code != "000000" else "111111"
    otp.post("/api/v1/auth/sign-in/email-otp", json={"email": "pk@example.com", "otp": wrong}, headers=ORIGIN)
    otp.post("/api/v1/auth/sign-in/email-otp", json={"email": "pk@example.com", "otp": code}, headers=ORIGIN)

    link = app.test_client()
    link.post("/api/v1/auth/sign-in/magic-link", json={"email": "pk@example.com"}, headers=ORIGIN)
    url = link_in(box.wait("pk@example.com", count=2))
    parts = urlsplit(url)
    link.get(f"{parts.path}?{parts.query}")
    link.get(f"{parts.path}?{parts.query}")
    admin = admin_client(app)
    admin.post("/api/v1/auth/admin/remove-user-passkey", json={"userId": user_id}, headers=ORIGIN)

    entries = _entries(app)
    methods = [e["details"].get("method") for e in entries if e["action"] == "auth.sign_in" and e["details"]]
    assert {"passkey", "email-otp", "magic-link"} <= set(methods)
    actions = {e["action"] for e in entries}
    assert {
        "passkey.registered",
        "passkey.renamed",
        "auth.passkey.failure",
        "auth.email_otp.sent",
        "auth.email_otp.failure",
        "auth.magic_link.sent",
        "auth.magic_link.failure",
        "admin.passkey.removed",
    } <= actions
    passkey_sign_in = next(
        e for e in entries if e["action"] == "auth.sign_in" and e["details"].get("method") == "passkey"
    )
    assert passkey_sign_in["actor_id"] == user_id
    dumped = json.dumps(entries)
    token = dict(p.split("=", 1) for p in parts.query.split("&"))["token"]
    assert code not in dumped and token not in dumped and key.id not in dumped


def test_users_created_by_links_and_codes_have_no_password(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ALL_ON)
    client = app.test_client()
    client.post(
        "/api/v1/auth/email-otp/send-verification-otp",
        json={"email": "new@example.com", "type": "sign-in"},
        headers=ORIGIN,
    )
    code = code_in(box.wait("new@example.com"))
    client.post("/api/v1/auth/sign-in/email-otp", json={"email": "new@example.com", "otp": code}, headers=ORIGIN)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@example.com"))
        assert user is not None and user.email_verified and user.role == "user" and not user.accounts


def test_proving_the_mailbox_removes_passkeys_registered_before_it(smtp_app: SmtpApp) -> None:
    """Pre-hijacking with a passkey: whoever signed up unverified and added one loses it."""
    app, box = smtp_app(**ALL_ON)
    _, _, key, _ = user_with_passkey(app, "victim@example.com")
    assert authenticate(app.test_client(), key).status_code == 200
    owner = app.test_client()
    owner.post("/api/v1/auth/sign-in/magic-link", json={"email": "victim@example.com"}, headers=ORIGIN)
    parts = urlsplit(link_in(box.wait("victim@example.com")))
    assert owner.get(f"{parts.path}?{parts.query}").status_code == 302
    refused = authenticate(app.test_client(), key)
    assert (refused.status_code, refused.json["code"]) == (401, "PASSKEY_NOT_FOUND")
    assert owner.get("/api/v1/auth/passkey/list-user-passkeys").json == []


def test_purge_expired_removes_only_what_expired(smtp_app: SmtpApp) -> None:
    import time

    from app.modules.auth.email_otp.models import EmailOtp
    from app.modules.auth.models import Verification

    app, box = smtp_app(AUTH__EMAIL_OTP__EXPIRES_IN="1", AUTH__MAGIC_LINK__EXPIRES_IN="1", **ALL_ON)
    client = app.test_client()
    client.post(
        "/api/v1/auth/email-otp/send-verification-otp",
        json={"email": "a@example.com", "type": "sign-in"},
        headers=ORIGIN,
    )
    client.post("/api/v1/auth/sign-in/magic-link", json={"email": "a@example.com"}, headers=ORIGIN)
    client.get("/api/v1/auth/passkey/generate-authenticate-options")
    box.wait("a@example.com", count=2)
    time.sleep(1.2)
    client.post("/api/v1/auth/sign-in/magic-link", json={"email": "b@example.com"}, headers=ORIGIN)  # still live
    result = app.test_cli_runner().invoke(args=["auth", "purge-expired"])
    assert result.exit_code == 0 and "purged 2 expired row(s)" in result.output
    with app.app_context():
        assert db.session.scalars(select(EmailOtp)).all() == []
        left = db.session.scalars(select(Verification.identifier)).all()
        assert len(left) == 2 and sum(i.startswith("magic-link:") for i in left) == 1  # b's link, the challenge
