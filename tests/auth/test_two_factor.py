"""Two-factor authentication (better-auth twoFactor plugin, reference §6) through the real routes.

TOTP codes are computed with the ``cryptography`` package's RFC 6238 implementation (not pyotp,
which the server uses), so server and test do not share code. Tests use the current time step and
the next one (the server accepts ±1 step), never a step the server could see as out of window.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.models import Verification
from app.modules.auth.two_factor.models import TwoFactor
from tests.auth.helpers import PASSWORD, post, sign_in, sign_up

SESSION = "better-auth.session_token"
CHALLENGE = "better-auth.two_factor"
TRUST = "better-auth.trust_device"


def key_of(totp_uri: str) -> bytes:
    secret = parse_qs(urlsplit(totp_uri).query)["secret"][0]
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code(key: bytes, steps_ahead: int = 0) -> str:
    """The RFC 6238 code of the current time step (+ ``steps_ahead``), by an implementation not ours."""
    return TOTP(key, 6, SHA1(), 30).generate(int(time.time()) + 30 * steps_ahead).decode()


def set_cookies(response: Any) -> dict[str, str]:
    cookies = {}
    for line in response.headers.getlist("Set-Cookie"):
        name, _, rest = line.partition("=")
        cookies[name] = rest.split(";", 1)[0]
    return cookies


def enable(client: FlaskClient, email: str) -> tuple[bytes, list[str]]:
    """Sign up ``email`` and turn 2FA on (enable + the first code); returns (key, backup codes)."""
    sign_up(client, email)
    started = post(client, "/two-factor/enable", {"password": PASSWORD})
    assert started.status_code == 200, started.json
    key = key_of(started.json["totpURI"])
    verified = post(client, "/two-factor/verify-totp", {"code": code(key)})
    assert verified.status_code == 200, verified.json
    return key, started.json["backupCodes"]


def challenged(app: Flask, email: str) -> FlaskClient:
    """A new browser that signed in with the password and now holds a 2FA challenge."""
    client = app.test_client()
    response = sign_in(client, email)
    assert response.json == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    return client


def session_email(client: FlaskClient) -> str | None:
    body = client.get("/api/v1/auth/get-session").json
    return body["user"]["email"] if body else None


def test_enable_returns_a_uri_and_backup_codes_and_stays_pending(client: FlaskClient) -> None:
    sign_up(client, "ada@example.com")
    response = post(client, "/two-factor/enable", {"password": PASSWORD})

    assert response.status_code == 200
    body = response.json
    assert body["method"] == "totp"
    uri = urlsplit(body["totpURI"])
    assert (uri.scheme, uri.netloc, uri.path) == ("otpauth", "totp", "/SaaS%20foundation:ada%40example.com")
    query = parse_qs(uri.query)
    assert (query["issuer"], query["digits"], query["period"]) == (["SaaS foundation"], ["6"], ["30"])
    assert len(key_of(body["totpURI"])) == 32  # as better-auth: 32 bytes, enough for strict authenticators
    assert len(body["backupCodes"]) == 10 and len(set(body["backupCodes"])) == 10
    assert all(len(c) == 11 and c[5] == "-" and c.replace("-", "").isalnum() for c in body["backupCodes"])
    # The pending secret lives server-side: nothing about it goes into a cookie.
    assert response.headers.getlist("Set-Cookie") == []
    assert client.get("/api/v1/auth/get-session").json["user"]["twoFactorEnabled"] is False
    # Pending: sign-in is not challenged until the first code is verified.
    other = sign_in(client.application.test_client(), "ada@example.com")
    assert other.status_code == 200 and "token" in other.json


def test_enable_with_a_wrong_password_is_refused(client: FlaskClient) -> None:
    sign_up(client, "ada@example.com")
    response = post(client, "/two-factor/enable", {"password": "not the password"})
    assert (response.status_code, response.json["code"]) == (400, "INVALID_PASSWORD")
    assert post(client, "/two-factor/enable", {"password": PASSWORD, "method": "otp"}).json["code"] == (
        "OTP_NOT_CONFIGURED"
    )


def test_verify_totp_enables_and_rotates_the_session(app: Flask, client: FlaskClient) -> None:
    old_token = sign_up(client, "ada@example.com")["token"]
    key = key_of(post(client, "/two-factor/enable", {"password": PASSWORD}).json["totpURI"])

    wrong = post(client, "/two-factor/verify-totp", {"code": "000000" if code(key) != "000000" else "111111"})
    assert (wrong.status_code, wrong.json["code"]) == (401, "INVALID_CODE")
    response = post(client, "/two-factor/verify-totp", {"code": code(key)})

    assert response.status_code == 200
    assert response.json["user"]["twoFactorEnabled"] is True
    new_token = response.json["token"]
    assert new_token != old_token and SESSION in set_cookies(response)
    assert response.headers["set-auth-token"].startswith(new_token + ".")
    assert session_email(client) == "ada@example.com"
    stale = app.test_client()
    assert stale.get("/api/v1/auth/get-session", headers={"Authorization": f"Bearer {old_token}"}).json is None
    again = post(client, "/two-factor/enable", {"password": PASSWORD})
    assert (again.status_code, again.json["code"]) == (400, "TOTP_ALREADY_ENABLED")


def test_sign_in_answers_a_challenge_without_any_session(app: Flask, client: FlaskClient) -> None:
    enable(client, "ada@example.com")
    browser = app.test_client()
    response = sign_in(browser, "ada@example.com")

    assert response.status_code == 200
    assert response.json == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    assert "set-auth-token" not in response.headers  # better-auth sends one for a dead session; we do not
    challenge = [line for line in response.headers.getlist("Set-Cookie") if line.startswith(CHALLENGE + "=2fa-")]
    assert len(challenge) == 1 and "Max-Age=600" in challenge[0] and "HttpOnly" in challenge[0]
    assert set_cookies(response)[SESSION] == ""
    assert browser.get("/api/v1/auth/get-session").json is None


def test_the_second_factor_completes_the_sign_in(app: Flask, client: FlaskClient) -> None:
    key, backup = enable(client, "ada@example.com")
    browser = app.test_client()
    challenge_cookie = set_cookies(sign_in(browser, "ada@example.com"))[CHALLENGE]
    response = post(browser, "/two-factor/verify-totp", {"code": code(key, 1)})

    assert response.status_code == 200, response.json
    token = response.json["token"]
    assert response.json["user"]["email"] == "ada@example.com"
    assert response.headers["set-auth-token"].startswith(token + ".")
    assert set_cookies(response)[CHALLENGE] == ""
    assert session_email(browser) == "ada@example.com"
    # The challenge was consumed: a copy of its cookie cannot start a second session.
    copy = app.test_client()
    copy.set_cookie(CHALLENGE, challenge_cookie)
    replay = post(copy, "/two-factor/verify-backup-code", {"code": backup[0]})
    assert (replay.status_code, replay.json["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    assert session_email(copy) is None


def test_a_totp_code_is_accepted_only_once(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    setup_code = code(key)
    # The code that enabled 2FA does not pass a sign-in challenge (better-auth accepts it: #10387).
    browser = challenged(app, "ada@example.com")
    replay = post(browser, "/two-factor/verify-totp", {"code": setup_code})
    assert (replay.status_code, replay.json["code"]) == (401, "INVALID_CODE")
    assert post(browser, "/two-factor/verify-totp", {"code": code(key, 1)}).status_code == 200
    # ... and a code that completed one sign-in does not complete another.
    other = challenged(app, "ada@example.com")
    again = post(other, "/two-factor/verify-totp", {"code": code(key, 1)})
    assert (again.status_code, again.json["code"]) == (401, "INVALID_CODE")
    assert session_email(other) is None


def test_verify_needs_a_valid_challenge_cookie(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    stranger = app.test_client()
    missing = post(stranger, "/two-factor/verify-totp", {"code": code(key, 1)})
    assert (missing.status_code, missing.json["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    forged = app.test_client()
    forged.set_cookie(CHALLENGE, "2fa-AAAAAAAAAAAAAAAAAAAA.bm90IGEgcmVhbCBzaWduYXR1cmUgYXQgYWxsIQ%3D%3D")
    response = post(forged, "/two-factor/verify-totp", {"code": code(key, 1)})
    assert (response.status_code, response.json["code"]) == (401, "INVALID_TWO_FACTOR_COOKIE")
    assert session_email(forged) is None


def test_a_challenge_allows_five_attempts_then_a_new_sign_in_is_needed(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    right = code(key, 1)
    wrong = "123456" if right != "123456" else "654321"
    for _ in range(5):
        assert post(browser, "/two-factor/verify-totp", {"code": wrong}).json["code"] == "INVALID_CODE"
    sixth = post(browser, "/two-factor/verify-totp", {"code": right})
    assert (sixth.status_code, sixth.json["code"]) == (400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE")
    assert set_cookies(sixth)[CHALLENGE] == ""
    # The challenge is gone for good: the right code no longer helps with it.
    browser.set_cookie(CHALLENGE, set_cookies(sign_in(app.test_client(), "ada@example.com"))[CHALLENGE])
    assert post(browser, "/two-factor/verify-totp", {"code": right}).status_code == 200


def test_repeated_failures_lock_the_second_factor(make_app: Any) -> None:
    app = make_app(AUTH__LOCKOUT__MAX_FAILURES="3")
    key, backup = enable(app.test_client(), "ada@example.com")
    for _ in range(3):  # spread over challenges: the per-challenge limit is not what trips
        browser = challenged(app, "ada@example.com")
        assert post(browser, "/two-factor/verify-totp", {"code": "000000"}).status_code == 401
    browser = challenged(app, "ada@example.com")
    locked = post(browser, "/two-factor/verify-totp", {"code": code(key, 1)})
    assert (locked.status_code, locked.json["code"]) == (429, "ACCOUNT_TEMPORARILY_LOCKED")
    assert locked.json["message"] == (
        "Too many failed verification attempts. Your account is temporarily locked. Please try again later."
    )
    by_backup = post(browser, "/two-factor/verify-backup-code", {"code": backup[0]})
    assert (by_backup.status_code, by_backup.json["code"]) == (429, "ACCOUNT_TEMPORARILY_LOCKED")
    assert session_email(browser) is None
    # The lock is the second factor's: password sign-in of another user is not affected.
    sign_up(app.test_client(), "bob@example.com")
    assert sign_in(app.test_client(), "bob@example.com").status_code == 200


def test_backup_codes_sign_in_once_each(app: Flask, client: FlaskClient) -> None:
    _, backup = enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    response = post(browser, "/two-factor/verify-backup-code", {"code": backup[0]})
    assert response.status_code == 200 and response.json["user"]["email"] == "ada@example.com"
    assert session_email(browser) == "ada@example.com"

    other = challenged(app, "ada@example.com")
    reused = post(other, "/two-factor/verify-backup-code", {"code": backup[0]})
    assert (reused.status_code, reused.json["code"]) == (401, "INVALID_BACKUP_CODE")
    assert post(other, "/two-factor/verify-backup-code", {"code": backup[1]}).status_code == 200


def test_secrets_are_encrypted_and_backup_codes_hashed_at_rest(app: Flask, client: FlaskClient) -> None:
    key, backup = enable(client, "ada@example.com")
    with app.app_context():
        row = db.session.scalar(select(TwoFactor))
        assert row is not None and row.verified
        stored = row.secret + row.backup_codes
    assert key.decode() not in stored and base64.b32encode(key).decode().rstrip("=") not in stored
    assert not any(c in stored or c.replace("-", "") in stored for c in backup)
    assert len(json.loads(row.backup_codes)) == 10
    from app.modules.auth.crypto import symmetric_decrypt
    from tests.conftest import TEST_SECRET

    assert symmetric_decrypt(row.secret, TEST_SECRET) == key.decode()


def test_generate_backup_codes_replaces_the_old_ones(app: Flask, client: FlaskClient) -> None:
    _, old = enable(client, "ada@example.com")
    wrong = post(client, "/two-factor/generate-backup-codes", {"password": "nope nope nope"})
    assert (wrong.status_code, wrong.json["code"]) == (400, "INVALID_PASSWORD")
    response = post(client, "/two-factor/generate-backup-codes", {"password": PASSWORD})
    assert response.status_code == 200 and response.json["status"] is True
    new = response.json["backupCodes"]
    assert len(new) == 10 and not set(new) & set(old)
    browser = challenged(app, "ada@example.com")
    assert post(browser, "/two-factor/verify-backup-code", {"code": old[0]}).json["code"] == "INVALID_BACKUP_CODE"
    assert post(browser, "/two-factor/verify-backup-code", {"code": new[0]}).status_code == 200


def test_generate_backup_codes_needs_two_factor_on(client: FlaskClient) -> None:
    sign_up(client, "ada@example.com")
    response = post(client, "/two-factor/generate-backup-codes", {"password": PASSWORD})
    assert (response.status_code, response.json["code"]) == (400, "TWO_FACTOR_NOT_ENABLED")


def test_get_totp_uri_gives_the_same_secret_and_checks_the_password(client: FlaskClient) -> None:
    sign_up(client, "ada@example.com")
    none_yet = post(client, "/two-factor/get-totp-uri", {"password": PASSWORD})
    assert (none_yet.status_code, none_yet.json["code"]) == (400, "TOTP_NOT_ENABLED")
    uri = post(client, "/two-factor/enable", {"password": PASSWORD}).json["totpURI"]
    assert post(client, "/two-factor/get-totp-uri", {"password": PASSWORD}).json == {"totpURI": uri}
    wrong = post(client, "/two-factor/get-totp-uri", {"password": "wrong wrong wrong"})
    assert (wrong.status_code, wrong.json["code"]) == (400, "INVALID_PASSWORD")
    assert post(client.application.test_client(), "/two-factor/get-totp-uri", {"password": PASSWORD}).status_code == 401


def test_a_trusted_device_skips_the_challenge_and_its_cookie_rotates(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    verified = post(browser, "/two-factor/verify-totp", {"code": code(key, 1), "trustDevice": True})
    first = set_cookies(verified)[TRUST]
    line = next(x for x in verified.headers.getlist("Set-Cookie") if x.startswith(TRUST + "="))
    assert "Max-Age=2592000" in line and "HttpOnly" in line
    post(browser, "/sign-out")

    again = sign_in(browser, "ada@example.com")
    assert again.status_code == 200 and again.json["user"]["email"] == "ada@example.com"
    rotated = set_cookies(again)[TRUST]
    assert rotated and rotated != first
    # The previous cookie was consumed by the rotation: a copy of it no longer skips the challenge.
    thief = app.test_client()
    thief.set_cookie(TRUST, first)
    assert sign_in(thief, "ada@example.com").json == {"twoFactorRedirect": True, "twoFactorMethods": ["totp"]}
    # A trust cookie is bound to its user: it does not skip another user's challenge.
    enable(app.test_client(), "bob@example.com")
    other = app.test_client()
    other.set_cookie(TRUST, rotated)
    assert sign_in(other, "bob@example.com").json["twoFactorRedirect"] is True


def test_disable_turns_two_factor_off_and_forgets_trusted_devices(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    trust = set_cookies(post(browser, "/two-factor/verify-totp", {"code": code(key, 1), "trustDevice": True}))[TRUST]
    old_token = browser.get("/api/v1/auth/get-session").json["session"]["token"]

    wrong = post(browser, "/two-factor/disable", {"password": "wrong wrong wrong"})
    assert (wrong.status_code, wrong.json["code"]) == (400, "INVALID_PASSWORD")
    response = post(browser, "/two-factor/disable", {"password": PASSWORD})
    assert response.status_code == 200 and response.json == {"status": True}
    assert set_cookies(response)[TRUST] == ""
    assert browser.get("/api/v1/auth/get-session").json["session"]["token"] != old_token
    with app.app_context():
        assert db.session.scalar(select(TwoFactor)) is None
        assert not db.session.scalars(select(Verification).where(Verification.identifier.like("trust-device:%"))).all()
    direct = sign_in(app.test_client(), "ada@example.com")
    assert direct.status_code == 200 and direct.json["user"]["twoFactorEnabled"] is False
    # Turned on again later, the old trust cookie does not skip the new challenge.
    fresh_key = key_of(post(browser, "/two-factor/enable", {"password": PASSWORD}).json["totpURI"])
    assert post(browser, "/two-factor/verify-totp", {"code": code(fresh_key)}).status_code == 200
    later = app.test_client()
    later.set_cookie(TRUST, trust)
    assert sign_in(later, "ada@example.com").json["twoFactorRedirect"] is True


def test_a_banned_user_cannot_finish_a_challenge(app: Flask, client: FlaskClient) -> None:
    key, _ = enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    from app.modules.auth.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert user is not None
        user.banned = True
        db.session.commit()
    response = post(browser, "/two-factor/verify-totp", {"code": code(key, 1)})
    assert (response.status_code, response.json["code"]) == (403, "BANNED_USER")
    assert session_email(browser) is None


@pytest.mark.parametrize("bad", ["12345", "1234567", "abcdef", ""])
def test_malformed_codes_are_invalid(app: Flask, client: FlaskClient, bad: str) -> None:
    enable(client, "ada@example.com")
    browser = challenged(app, "ada@example.com")
    response = post(browser, "/two-factor/verify-totp", {"code": bad})
    assert (response.status_code, response.json["code"]) == (401, "INVALID_CODE")
