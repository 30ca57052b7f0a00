"""The sign-in challenge and trusted devices of two-factor sign-in (better-auth reference §6).

Challenge: valid credentials of a 2FA user get no session, only the signed ``two_factor`` cookie
(10 minutes) naming a server-side challenge (a verification row keyed by the SHA-256 of the
challenge id: OWASP Session Management Cheat Sheet, secrets stored hashed). Unlike better-auth no
``set-auth-token`` is sent for a session that never existed. Each challenge allows ``max_attempts``
codes (counted atomically in the shared counter store, Redis when configured), then it is
destroyed and the user must sign in again (OWASP Authentication Cheat Sheet, "Protect against
automated attacks"). A challenge is consumed by exactly one successful verification.

Trusted device: ``trust_device`` = signed ``<HMAC(secret, userId!trustId)>!<trustId>`` (30 days),
backed by a verification row (hashed id) so it can be revoked; it is rotated on every use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Response, after_this_request, current_app, jsonify, request
from sqlalchemy import delete, select

from app.core.errors import ApiError
from app.core.settings import current
from app.extensions import db
from app.modules.auth.cookies import (
    SESSION_DATA,
    SESSION_TOKEN,
    cookie_name,
    delete_cookie,
    read_signed_cookie,
    set_signed_cookie,
)
from app.modules.auth.counters import counter_storage
from app.modules.auth.crypto import generate_random_string, hash_token
from app.modules.auth.models import User, Verification, utcnow
from app.modules.auth.two_factor.models import TwoFactor
from app.modules.auth.two_factor.options import TwoFactorOptions

CHALLENGE_COOKIE = "two_factor"
TRUST_COOKIE = "trust_device"
_CHALLENGE_ID = "2fa:"
_TRUST_ID = "trust-device:"

INVALID_COOKIE = ApiError(401, "INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie")
TOO_MANY_ATTEMPTS = ApiError(400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", "Too many attempts. Please request a new code.")


def _options() -> TwoFactorOptions:
    return current(TwoFactorOptions)


def _secret() -> str:
    secret: str = current_app.config["SETTINGS"].auth.secret or ""
    return secret


@dataclass(frozen=True)
class Challenge:
    """A pending sign-in: whose, and whether the session will outlive the browser."""

    key: str  # the verification identifier (hash of the cookie's id)
    user: User
    dont_remember: bool
    mailed_first_factor: bool = False  # the first factor was a mailed secret: no mailed second one


#: First factors that prove the mailbox: a code by mail cannot also be their second factor, or one
#: stolen mailbox would pass both (NIST SP 800-63B 5.1.3.1 and 4.2.1: two *different* factors).
MAILED_FACTORS = frozenset({"email-otp", "magic-link"})


def start_challenge(user: User, *, dont_remember: bool, mailed_first_factor: bool = False) -> Response:
    """The sign-in answer for a 2FA user: no session, the challenge cookie (caller commits).

    After a mailed first factor the ``otp`` method (a code by mail) is not offered."""
    options = _options()
    challenge_id = f"2fa-{generate_random_string(20)}"
    now = utcnow()
    db.session.add(Verification(
        id=generate_random_string(32),
        identifier=_CHALLENGE_ID + hash_token(challenge_id),
        value=json.dumps({"userId": user.id, "dontRemember": dont_remember, "mailed": mailed_first_factor}),
        expires_at=now + timedelta(seconds=options.challenge_max_age),
        created_at=now,
        updated_at=now,
    ))
    methods = ["totp"] if _has_verified_totp(user.id) else []
    if options.otp_enabled and not mailed_first_factor:
        methods.append("otp")
    response = jsonify({"twoFactorRedirect": True, "twoFactorMethods": methods})
    # As better-auth: the session cookies go, dont_remember stays (it belongs to the sign-in).
    delete_cookie(response, SESSION_TOKEN)
    delete_cookie(response, SESSION_DATA)
    set_signed_cookie(response, CHALLENGE_COOKIE, challenge_id, options.challenge_max_age)
    return response


def _has_verified_totp(user_id: str) -> bool:
    return bool(db.session.scalar(select(TwoFactor.verified).where(TwoFactor.user_id == user_id)))


def load_challenge() -> Challenge:
    """The challenge the request's cookie names; 401 INVALID_TWO_FACTOR_COOKIE otherwise."""
    challenge_id = read_signed_cookie(request, CHALLENGE_COOKIE)
    if not challenge_id:
        raise INVALID_COOKIE
    key = _CHALLENGE_ID + hash_token(challenge_id)
    row = db.session.scalar(select(Verification).where(Verification.identifier == key))
    if row is None or row.expires_at <= utcnow():
        raise INVALID_COOKIE
    value: dict[str, Any] = json.loads(row.value)
    user = db.session.get(User, value.get("userId"))
    if user is None:
        raise INVALID_COOKIE
    return Challenge(
        key=key,
        user=user,
        dont_remember=bool(value.get("dontRemember")),
        mailed_first_factor=bool(value.get("mailed")),
    )


def count_attempt(challenge: Challenge) -> None:
    """Count one code tried against the challenge; past the limit the challenge dies (400)."""
    options = _options()
    attempts = counter_storage(current_app).incr(f"2fa:attempts:{challenge.key}", options.challenge_max_age)
    if attempts > options.max_attempts:
        end_challenge(challenge)
        db.session.commit()

        @after_this_request
        def _expire(response: Response) -> Response:
            delete_cookie(response, CHALLENGE_COOKIE)
            return response

        raise TOO_MANY_ATTEMPTS


def end_challenge(challenge: Challenge) -> bool:
    """Consume the challenge; False when a concurrent request consumed it first."""
    result = db.session.execute(delete(Verification).where(Verification.identifier == challenge.key))
    return bool(getattr(result, "rowcount", 0))


# -- trusted devices ------------------------------------------------------------------------------


def _trust_mac(user_id: str, trust_id: str) -> str:
    digest = hmac.new(_secret().encode(), f"{user_id}!{trust_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def trust_device(response: Response, user_id: str) -> None:
    """Remember this browser for ``trust_device_max_age`` (a new row and cookie; caller commits)."""
    options = _options()
    trust_id = f"trust-device-{generate_random_string(32)}"
    now = utcnow()
    db.session.add(Verification(
        id=generate_random_string(32),
        identifier=_TRUST_ID + hash_token(trust_id),
        value=user_id,
        expires_at=now + timedelta(seconds=options.trust_device_max_age),
        created_at=now,
        updated_at=now,
    ))
    value = f"{_trust_mac(user_id, trust_id)}!{trust_id}"
    set_signed_cookie(response, TRUST_COOKIE, value, options.trust_device_max_age)


def _trusted_row(user_id: str) -> Verification | None:
    value = read_signed_cookie(request, TRUST_COOKIE)
    if not value or "!" not in value:
        return None
    mac, _, trust_id = value.partition("!")
    if not hmac.compare_digest(mac, _trust_mac(user_id, trust_id)):
        return None
    row: Verification | None = db.session.scalar(
        select(Verification).where(Verification.identifier == _TRUST_ID + hash_token(trust_id))
    )
    if row is None or row.value != user_id or row.expires_at <= utcnow():
        return None
    return row


def _spend(row: Verification) -> bool:
    """Delete the trusted-device row; True when this request deleted it (single use, like every secret)."""
    result = db.session.execute(
        delete(Verification).where(Verification.id == row.id).execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def forget_devices(user_id: str) -> None:
    """Every trusted device of the user stops being trusted (2FA disabled; caller commits)."""
    db.session.execute(
        delete(Verification).where(Verification.identifier.startswith(_TRUST_ID), Verification.value == user_id)
    )


def sign_in_hook(user: User, body: Any) -> Response | None:
    """``auth.sign_in_hooks``: a 2FA user's sign-in ends in a challenge unless the device is trusted."""
    if not user.two_factor_enabled:
        return None
    trusted = _trusted_row(user.id)
    # Rotated on every use, by a conditional delete: of racing sign-ins with one cookie, one passes.
    if trusted is not None and _spend(trusted):

        @after_this_request
        def _rotate(response: Response) -> Response:
            if response.status_code == 200:
                trust_device(response, user.id)
                db.session.commit()
            return response

        return None
    response = start_challenge(
        user,
        dont_remember=not getattr(body, "remember_me", True),
        mailed_first_factor=getattr(body, "first_factor", "password") in MAILED_FACTORS,
    )
    if request.cookies.get(cookie_name(TRUST_COOKIE)):
        delete_cookie(response, TRUST_COOKIE)
    return response

