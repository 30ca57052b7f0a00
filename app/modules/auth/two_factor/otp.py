"""The two-factor OTP method (better-auth ``twoFactor({otpOptions})``): a code by mail.

``POST /two-factor/send-otp`` mails a fresh code to the user of the sign-in challenge (the
``two_factor`` cookie) or of the session; ``POST /two-factor/verify-otp {code, trustDevice?}``
completes the sign-in, or, with a session, turns two-factor on (as verify-totp does).

Stricter than better-auth (whose default stores the code in plain text), following the OWASP
Multifactor Authentication Cheat Sheet ("OTP by email": short-lived, single use, rate-limited):

- at rest only ``HMAC-SHA256(secret, key ‖ code)``: a leaked table does not give the code away,
  and a 6-digit code cannot be brute-forced offline without the secret;
- the code is consumed atomically (a conditional delete: of two racing requests one wins), and a
  new send replaces the previous code;
- ``AUTH__TWO_FACTOR__OTP_ALLOWED_ATTEMPTS`` wrong codes per mailed code, then a new one must be
  sent; on a sign-in each try also counts against the challenge and the account lockout;
- compared in constant time (``hmac.compare_digest``);
- not offered, and refused (400 ``OTP_NOT_ALLOWED``), on the challenge of a sign-in by email OTP
  or magic link: the mailbox would then be both factors (better-auth allows it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

from flask import current_app
from flask.typing import ResponseReturnValue
from sqlalchemy import delete, select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.core.settings import current
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.emails import two_factor_code_email
from app.modules.auth.identity import resolve_identity
from app.modules.auth.models import User, Verification, utcnow
from app.modules.auth.routes.common import bp, current_user_row, with_session_cookie
from app.modules.auth.routes.verification import send_auth_mail
from app.modules.auth.sessions import invalidate_user
from app.modules.auth.two_factor import schemas as s
from app.modules.auth.two_factor.challenge import Challenge, load_challenge
from app.modules.auth.two_factor.options import TwoFactorOptions
from app.modules.auth.two_factor.routes import (
    INVALID_CODE,
    LOCKED,
    TAGS,
    complete_sign_in,
    lock_key,
    refuse,
    rotate_session,
    token_and_user,
    two_factor_lockout,
)

_IDENTIFIER = "2fa-otp:"
NOT_CONFIGURED = ApiError(400, "OTP_NOT_CONFIGURED", "otp isn't configured")
EXPIRED = ApiError(400, "OTP_HAS_EXPIRED", "OTP has expired")
SAME_FACTOR = ApiError(
    400, "OTP_NOT_ALLOWED", "A code by mail cannot be the second factor of a sign-in by mail"
)
TOO_MANY = ApiError(400, "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE", "Too many attempts. Please request a new code.")


def _options() -> TwoFactorOptions:
    options = current(TwoFactorOptions)
    if not options.otp_enabled:
        raise NOT_CONFIGURED
    return options


def _secret() -> str:
    secret: str = current_app.config["SETTINGS"].auth.secret or ""
    return secret


def _digest(key: str, code: str) -> str:
    return hmac.new(_secret().encode(), f"{key}:{code}".encode(), hashlib.sha256).hexdigest()


def _who() -> tuple[str, User, Challenge | None, object | None]:
    """(key, user, challenge, session): the signed-in session, else the sign-in challenge (401)."""
    resolved = resolve_identity()
    if resolved is not None:
        return "session:" + resolved.token_hash, current_user_row(resolved), None, resolved
    challenge = load_challenge()
    if challenge.mailed_first_factor:
        raise SAME_FACTOR
    return challenge.key, challenge.user, challenge, None


@bp.post("/two-factor/send-otp", endpoint="two_factor_send_otp")
@endpoint(summary="Mail a one-time code for the sign-in challenge (or the session)", tags=TAGS,
          body=s.SendOtpBody, response=s.StatusOut,
          responses={400: "OTP not configured", 401: "No challenge and no session"})
def send_otp(body: s.SendOtpBody) -> ResponseReturnValue:
    options = _options()
    key, user, _, _ = _who()
    code = "".join(secrets.choice("0123456789") for _ in range(options.otp_digits))
    identifier = _IDENTIFIER + hash_token(key)
    now = utcnow()
    db.session.execute(delete(Verification).where(Verification.identifier == identifier))
    db.session.add(Verification(
        id=generate_id(), identifier=identifier,
        value=json.dumps({"digest": _digest(key, code), "attempts": 0}),
        expires_at=now + timedelta(seconds=options.otp_period), created_at=now, updated_at=now,
    ))
    db.session.commit()
    send_auth_mail(two_factor_code_email(user.email, code, max(1, options.otp_period // 60)))
    audit_logger.log_async(actor_id=user.id, action="2fa.otp_sent", resource_type="user", resource_id=user.id)
    return {"status": True}


def _consume(key: str) -> Verification:
    """Take the key's code (deleted, so every code is tried by one request at a time); 400 when none."""
    identifier = _IDENTIFIER + hash_token(key)
    row: Verification | None = db.session.scalar(select(Verification).where(Verification.identifier == identifier))
    if row is None:
        raise EXPIRED
    taken = db.session.execute(delete(Verification).where(Verification.id == row.id))
    db.session.commit()
    if not getattr(taken, "rowcount", 0) or row.expires_at <= utcnow():
        raise EXPIRED
    return row


@bp.post("/two-factor/verify-otp", endpoint="two_factor_verify_otp")
@endpoint(summary="Verify a mailed code: completes a sign-in challenge, or turns 2FA on for the session",
          tags=TAGS, body=s.VerifyOtpBody, response=s.TokenAndUser,
          responses={400: "Expired, not configured or too many attempts", 401: "Invalid code or challenge",
                     429: "Second factor temporarily locked"})
def verify_otp(body: s.VerifyOtpBody) -> ResponseReturnValue:
    options = _options()
    key, user, challenge, resolved = _who()
    lockout = two_factor_lockout()
    if challenge is not None and lockout is not None and lockout.is_locked(lock_key(user.id)):
        raise LOCKED
    row = _consume(key)
    stored = json.loads(row.value)
    attempts = int(stored.get("attempts", 0))
    if attempts >= options.otp_allowed_attempts:
        raise TOO_MANY
    if not hmac.compare_digest(str(stored.get("digest", "")), _digest(key, body.code)):
        db.session.add(Verification(  # the same code back, one attempt more, the same expiry
            id=generate_id(), identifier=row.identifier,
            value=json.dumps({**stored, "attempts": attempts + 1}),
            expires_at=row.expires_at, created_at=row.created_at, updated_at=utcnow(),
        ))
        db.session.commit()
        if challenge is not None:
            from app.modules.auth.two_factor.challenge import count_attempt

            count_attempt(challenge)
            raise refuse(challenge, INVALID_CODE, "otp")
        raise INVALID_CODE
    if challenge is not None:
        return complete_sign_in(challenge, trust=body.trust_device, method="otp")
    from app.modules.auth.sessions import ResolvedSession

    assert isinstance(resolved, ResolvedSession)
    if user.two_factor_enabled:
        return token_and_user(resolved.token, user)
    user.two_factor_enabled = True
    user.updated_at = utcnow()
    invalidate_user(user.id)
    token = rotate_session(resolved, user)
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="2fa.enable", resource_type="user", resource_id=user.id,
                           details={"method": "otp"})
    return with_session_cookie(token_and_user(token, user), token, dont_remember=resolved.dont_remember)
