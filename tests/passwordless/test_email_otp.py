"""Email one-time codes through the real mailer and a real SMTP server: better-auth's ``emailOTP``
routes, their answers and codes, and where we are stricter (codes hashed with a key, one winner
under concurrency, no second factor skipped)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.modules.auth.email_otp.models import EmailOtp
from app.modules.auth.models import Account, User
from tests.auth.helpers import ORIGIN, PASSWORD, bearer, sign_in, sign_up
from tests.live_server import bound_server, serve
from tests.passwordless.conftest import SmtpApp, code_in, text_of

ON = {"AUTH__EMAIL_OTP__ENABLED": "true"}
EMAIL = "otp@example.com"


def post(client: Any, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/api/v1/auth{path}", json=body, headers={**ORIGIN, **headers})


def send(client: Any, email: str = EMAIL, kind: str = "sign-in") -> Any:
    return post(client, "/email-otp/send-verification-otp", {"email": email, "type": kind})


def error(response: Any) -> tuple[int, str]:
    return response.status_code, response.json["code"]


def test_routes_answer_404_while_the_plugin_is_off(smtp_app: SmtpApp) -> None:
    app, _ = smtp_app()
    response = send(app.test_client())
    assert response.status_code == 404


def test_sign_in_with_a_mailed_code_creates_a_verified_user_once(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    assert send(client).json == {"success": True}
    mail = box.wait(EMAIL)
    assert mail["Subject"] == "Your SaaS foundation sign-in code"
    code = code_in(mail)
    assert len(code) == 6 and "expires in 5 minutes" in text_of(mail)

    with app.app_context():  # only a keyed hash is kept
        row = db.session.scalar(select(EmailOtp))
        assert row is not None and row.identifier == f"sign-in-otp-{EMAIL}"
        assert code not in row.code_hash and len(row.code_hash) == 64 and row.attempts == 0

    response = post(client, "/sign-in/email-otp", {"email": EMAIL.upper(), "otp": code, "name": "Otto"})
    assert response.status_code == 200, response.json
    assert set(response.json) == {"token", "user"}
    assert response.json["user"]["email"] == EMAIL and response.json["user"]["emailVerified"] is True
    assert response.json["user"]["name"] == "Otto"
    assert "better-auth.session_token=" in response.headers["Set-Cookie"]
    session = client.get("/api/v1/auth/get-session", headers=bearer(response.json["token"])).json
    assert session["user"]["email"] == EMAIL

    again = post(app.test_client(), "/sign-in/email-otp", {"email": EMAIL, "otp": code})
    assert error(again) == (400, "INVALID_OTP")
    with app.app_context():
        assert db.session.scalar(select(EmailOtp)) is None


def test_wrong_codes_are_limited_then_even_the_right_one_is_refused(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    send(client)
    code = code_in(box.wait(EMAIL))
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(3):  # better-auth's allowedAttempts
        assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": wrong})) == (400, "INVALID_OTP")
    assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": code})) == (403, "TOO_MANY_ATTEMPTS")
    # A new code starts a new count.
    send(client)
    fresh = code_in(box.wait(EMAIL, count=2))
    assert post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": fresh}).status_code == 200


def test_an_expired_code_is_refused_and_removed(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(AUTH__EMAIL_OTP__EXPIRES_IN="1", **ON)
    client = app.test_client()
    send(client)
    code = code_in(box.wait(EMAIL))
    time.sleep(1.2)
    assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": code})) == (400, "OTP_EXPIRED")
    assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": code})) == (400, "INVALID_OTP")


def test_a_new_code_replaces_the_previous_one(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    send(client)
    first = code_in(box.wait(EMAIL))
    send(client)
    second = code_in(box.wait(EMAIL, count=2))
    if first != second:
        assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": first})) == (400, "INVALID_OTP")
    assert post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": second}).status_code == 200


def test_unknown_addresses_get_the_same_answer_and_no_mail(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    sign_up(client, "known@example.com")
    for kind in ("email-verification", "forget-password"):
        known = send(client, "known@example.com", kind)
        unknown = send(client, "nobody@example.com", kind)
        assert (known.status_code, known.json) == (unknown.status_code, unknown.json) == (200, {"success": True})
    reset = post(client, "/forget-password/email-otp", {"email": "nobody@example.com"})
    assert (reset.status_code, reset.json) == (200, {"success": True})
    box.wait("known@example.com", count=2)
    box.settle()
    assert box.to("nobody@example.com") == []


def test_send_validates_its_input(smtp_app: SmtpApp) -> None:
    app, _ = smtp_app(**ON)
    client = app.test_client()
    assert error(send(client, "not-an-email")) == (400, "INVALID_EMAIL")
    assert error(send(client, EMAIL, "change-email")) == (400, "INVALID_OTP_TYPE")
    assert error(send(client, EMAIL, "other")) == (400, "VALIDATION_ERROR")
    assert post(client, "/sign-in/email-otp", {"email": EMAIL}).status_code == 400


def test_disabled_sign_up_creates_nobody(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(AUTH__EMAIL_OTP__DISABLE_SIGN_UP="true", **ON)
    client = app.test_client()
    assert send(client).json == {"success": True}
    box.settle()
    assert box.to(EMAIL) == []
    assert error(post(client, "/sign-in/email-otp", {"email": EMAIL, "otp": "123456"})) == (400, "INVALID_OTP")


def test_verify_email_with_a_code(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    sign_up(client, "verify@example.com")
    send(client, "verify@example.com", "email-verification")
    code = code_in(box.wait("verify@example.com"))
    check = post(
        client,
        "/email-otp/check-verification-otp",
        {"email": "verify@example.com", "type": "email-verification", "otp": code},
    )
    assert check.json == {"success": True}  # checking does not use the code up
    response = post(client, "/email-otp/verify-email", {"email": "verify@example.com", "otp": code})
    assert response.status_code == 200, response.json
    assert response.json["status"] is True and response.json["token"] is None
    assert response.json["user"]["emailVerified"] is True
    reuse = post(client, "/email-otp/verify-email", {"email": "verify@example.com", "otp": code})
    assert error(reuse) == (400, "INVALID_OTP")


def test_password_reset_with_a_code_ends_every_session(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    token = sign_up(client, "reset@example.com")["token"]
    assert post(client, "/email-otp/request-password-reset", {"email": "reset@example.com"}).json == {"success": True}
    code = code_in(box.wait("reset@example.com"))
    assert box.wait("reset@example.com")["Subject"] == "Your SaaS foundation password reset code"
    short = post(client, "/email-otp/reset-password", {"email": "reset@example.com", "otp": code, "password": "short"})
    assert error(short) == (400, "PASSWORD_TOO_SHORT")
    done = post(
        client,
        "/email-otp/reset-password",
        {"email": "reset@example.com", "otp": code, "password": "a brand new passphrase"},
    )
    assert done.json == {"success": True}
    assert client.get("/api/v1/auth/get-session", headers=bearer(token)).json is None
    assert sign_in(app.test_client(), "reset@example.com", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "reset@example.com", "a brand new passphrase").status_code == 200
    again = post(
        client,
        "/email-otp/reset-password",
        {"email": "reset@example.com", "otp": code, "password": "yet another passphrase"},
    )
    assert error(again) == (400, "INVALID_OTP")


def test_the_owner_of_an_unverified_address_takes_it_back(smtp_app: SmtpApp) -> None:
    """Pre-hijacking: someone signed up with the victim's address and a password of theirs."""
    app, box = smtp_app(**ON)
    attacker = app.test_client()
    attacker_token = sign_up(attacker, "victim@example.com", "attacker password")["token"]
    owner = app.test_client()
    send(owner, "victim@example.com")
    code = code_in(box.wait("victim@example.com"))
    assert post(owner, "/sign-in/email-otp", {"email": "victim@example.com", "otp": code}).status_code == 200
    assert app.test_client().get("/api/v1/auth/get-session", headers=bearer(attacker_token)).json is None
    assert sign_in(app.test_client(), "victim@example.com", "attacker password").status_code == 401
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "victim@example.com"))
        assert user is not None and user.email_verified
        assert db.session.scalars(select(Account).where(Account.user_id == user.id)).all() == []


def _plant_credentials(app: Flask, email: str) -> str:
    """What a squatter sets up on an unverified account: an API key and a second factor."""
    from app.modules.auth.api_key.models import ApiKey
    from app.modules.auth.two_factor.models import TwoFactor

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None and not user.email_verified
        db.session.add(ApiKey(id="squat-key", reference_id=user.id, key="squat-hash"))
        db.session.add(TwoFactor(id="squat-2fa", secret="x", backup_codes="[]", user_id=user.id, verified=True))
        user.two_factor_enabled = True
        db.session.commit()
        return user.id


def _planted(app: Flask, user_id: str) -> tuple[int, int, bool]:
    from app.modules.auth.api_key.models import ApiKey
    from app.modules.auth.two_factor.models import TwoFactor

    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        keys = len(db.session.scalars(select(ApiKey).where(ApiKey.reference_id == user_id)).all())
        factors = len(db.session.scalars(select(TwoFactor).where(TwoFactor.user_id == user_id)).all())
        return keys, factors, bool(user.two_factor_enabled)


def test_proving_the_mailbox_removes_the_squatters_api_keys_and_second_factor(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    sign_up(app.test_client(), "squat@example.com", "attacker password")
    user_id = _plant_credentials(app, "squat@example.com")
    owner = app.test_client()
    send(owner, "squat@example.com")
    code = code_in(box.wait("squat@example.com"))
    signed_in = post(owner, "/sign-in/email-otp", {"email": "squat@example.com", "otp": code})
    assert signed_in.status_code == 200 and "token" in signed_in.json  # no squatter's challenge
    assert _planted(app, user_id) == (0, 0, False)


def test_a_password_reset_by_code_also_proves_the_mailbox(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    sign_up(app.test_client(), "squat2@example.com", "attacker password")
    user_id = _plant_credentials(app, "squat2@example.com")
    owner = app.test_client()
    post(owner, "/email-otp/request-password-reset", {"email": "squat2@example.com"})
    code = code_in(box.wait("squat2@example.com"))
    body = {"email": "squat2@example.com", "otp": code, "password": "the owner's passphrase"}
    assert post(owner, "/email-otp/reset-password", body).json == {"success": True}
    assert _planted(app, user_id) == (0, 0, False)
    assert sign_in(app.test_client(), "squat2@example.com", "the owner's passphrase").status_code == 200


def test_a_mailed_code_is_not_the_second_factor_of_a_mailed_sign_in(smtp_app: SmtpApp) -> None:
    """The mailbox cannot be both factors: after a sign-in by email OTP the 2FA ``otp`` method
    (a code by mail) is neither offered nor accepted."""
    app, box = smtp_app(AUTH__TWO_FACTOR__OTP_ENABLED="true", **ON)
    client = app.test_client()
    sign_up(client, "both@example.com")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "both@example.com"))
        assert user is not None
        user.two_factor_enabled = True
        user.email_verified = True
        db.session.commit()
    browser = app.test_client()
    send(browser, "both@example.com")
    code = code_in(box.wait("both@example.com"))
    challenge = post(browser, "/sign-in/email-otp", {"email": "both@example.com", "otp": code})
    assert challenge.json["twoFactorRedirect"] is True
    assert "otp" not in challenge.json["twoFactorMethods"]
    assert error(post(browser, "/two-factor/send-otp", {})) == (400, "OTP_NOT_ALLOWED")
    assert error(post(browser, "/two-factor/verify-otp", {"code": "000000"})) == (400, "OTP_NOT_ALLOWED")
    password_browser = app.test_client()
    after_password = sign_in(password_browser, "both@example.com", PASSWORD)
    assert "otp" in after_password.json["twoFactorMethods"]  # after a password it stays a factor
    assert post(password_browser, "/two-factor/send-otp", {}).json == {"status": True}


def test_a_two_factor_user_still_meets_the_challenge(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    client = app.test_client()
    sign_up(client, "tfa@example.com")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "tfa@example.com"))
        assert user is not None
        user.two_factor_enabled = True
        user.email_verified = True
        db.session.commit()
    send(client, "tfa@example.com")
    code = code_in(box.wait("tfa@example.com"))
    response = post(app.test_client(), "/sign-in/email-otp", {"email": "tfa@example.com", "otp": code})
    assert response.status_code == 200
    assert response.json["twoFactorRedirect"] is True and "token" not in response.json


def test_mails_per_address_are_limited_silently_and_per_client(smtp_app: SmtpApp) -> None:
    """Past the address's limit the answer is the same and no mail leaves; a flood from one client
    does not stop the owner's own request from another network; all clients together are capped."""
    app, box = smtp_app(AUTH__EMAIL_OTP__ADDRESS_MAX="2", **ON)
    sign_up(app.test_client(), EMAIL)
    box.settle()
    before = len(box.to(EMAIL))
    flooder = app.test_client()
    for address in ("nobody@example.com", EMAIL):
        answers = [send(flooder, address, "sign-in") for _ in range(3)]
        assert [(a.status_code, a.json) for a in answers] == [(200, {"success": True})] * 3
    box.settle()
    assert len(box.to(EMAIL)) == before + 2  # the third was answered alike and not sent

    def from_network(n: int) -> Any:
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n}"
        return send(client, EMAIL, "sign-in")

    assert from_network(2).json == {"success": True}
    box.wait(EMAIL, count=before + 3)  # the owner's own request still gets its code
    for n in range(3, 10):
        from_network(n)
    box.settle()
    assert len(box.to(EMAIL)) == before + 8  # 4 x 2 from all clients together, then no more


def test_per_client_limit_of_better_auth(smtp_app: SmtpApp) -> None:
    app, _ = smtp_app(AUTH__RATE_LIMIT__ENABLED="true", **ON)
    client = app.test_client()
    codes = [send(client, f"user{i}@example.com").status_code for i in range(4)]
    assert codes == [200, 200, 200, 429]  # 3 per 60 s


def _parallel_sign_ins(app: Flask, code: str, n: int) -> list[int]:
    import requests

    with bound_server() as server, serve(server, app) as url:
        barrier = threading.Barrier(n)

        def attempt(_: int) -> int:
            barrier.wait()
            answer = requests.post(
                f"{url}/api/v1/auth/sign-in/email-otp", json={"email": EMAIL, "otp": code}, timeout=30
            )
            return answer.status_code

        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(attempt, range(n)))


def test_concurrent_uses_of_one_code_have_exactly_one_winner(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(**ON)
    for round_ in range(1, 4):
        send(app.test_client())
        code = code_in(box.wait(EMAIL, count=round_))
        statuses = _parallel_sign_ins(app, code, 8)
        assert sorted(statuses) == [200] + [400] * 7, statuses
    with app.app_context():
        assert len(db.session.scalars(select(User)).all()) == 1


def test_change_email_with_a_code_is_off_unless_enabled(smtp_app: SmtpApp) -> None:
    app, _ = smtp_app(**ON)
    client = app.test_client()
    sign_up(client, "old@example.com")
    refused = post(client, "/email-otp/request-email-change", {"newEmail": "new@example.com"})
    assert error(refused) == (400, "CHANGE_EMAIL_WITH_OTP_IS_DISABLED")


def test_change_email_with_a_code_sent_to_the_new_address(smtp_app: SmtpApp) -> None:
    app, box = smtp_app(AUTH__EMAIL_OTP__CHANGE_EMAIL_ENABLED="true", **ON)
    client = app.test_client()
    sign_up(client, "old@example.com")
    sign_up(app.test_client(), "taken@example.com")
    assert error(post(app.test_client(), "/email-otp/request-email-change", {"newEmail": "x@example.com"})) == (
        401,
        "UNAUTHORIZED",
    )
    same = post(client, "/email-otp/request-email-change", {"newEmail": "OLD@example.com"})
    assert error(same) == (400, "EMAIL_IS_THE_SAME")
    taken = post(client, "/email-otp/request-email-change", {"newEmail": "taken@example.com"})
    assert taken.json == {"success": True}  # same answer, no mail: nothing enumerated
    assert post(client, "/email-otp/request-email-change", {"newEmail": "new@example.com"}).json == {"success": True}
    mail = box.wait("new@example.com")
    assert mail["Subject"] == "Your SaaS foundation email change code"
    code = code_in(mail)
    # The code belongs to this user and this new address only.
    other = app.test_client()
    sign_up(other, "other@example.com")
    assert error(post(other, "/email-otp/change-email", {"newEmail": "new@example.com", "otp": code})) == (
        400,
        "INVALID_OTP",
    )
    changed = post(client, "/email-otp/change-email", {"newEmail": "new@example.com", "otp": code})
    assert changed.json == {"success": True}
    session = client.get("/api/v1/auth/get-session").json
    assert session["user"]["email"] == "new@example.com" and session["user"]["emailVerified"] is True
    box.settle()
    assert box.to("taken@example.com") == []
