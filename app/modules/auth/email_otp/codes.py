"""Issue and check one-time email codes; a code is consumed by exactly one request.

Stored as HMAC-SHA256 under the app secret (a stolen table does not give 10^6 guesses offline),
never in clear (OWASP Forgot Password Cheat Sheet; better-auth's default ``storeOTP: "plain"``
is the weaker one). The winner is decided by one statement: ``DELETE ... WHERE identifier AND
code_hash AND attempts < allowed AND not expired RETURNING id``. Concurrent requests with the right
code race for that row and the database lets one delete it; the others find nothing (RFC 4226
§7.2 "Validation of HOTP Values": a value is accepted once). Comparing keyed hashes in SQL leaks
nothing of the code. A wrong code costs one attempt (``attempts = attempts + 1 WHERE attempts <
allowed``, atomic too); after ``allowed_attempts`` failures even the right code is refused
(better-auth's 403 TOO_MANY_ATTEMPTS), so guessing is bounded (OWASP Authentication Cheat Sheet).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.crypto import generate_id, generate_random_string
from app.modules.auth.email_otp.models import EmailOtp
from app.modules.auth.models import utcnow
from app.modules.auth.passwordless import keyed_hash

TYPES = ("email-verification", "sign-in", "forget-password", "change-email")

OTP_EXPIRED = ApiError(400, "OTP_EXPIRED", "OTP expired")
INVALID_OTP = ApiError(400, "INVALID_OTP", "Invalid OTP")
TOO_MANY_ATTEMPTS = ApiError(403, "TOO_MANY_ATTEMPTS", "Too many attempts")


def identifier(kind: str, email: str) -> str:
    """better-auth's verification identifier: ``<type>-otp-<email>``."""
    return f"{kind}-otp-{email}"


def _hash(ident: str, code: str) -> str:
    return keyed_hash("email-otp:" + ident, code)


def issue(ident: str, *, length: int, expires_in: int) -> str:
    """A new code for ``ident``, replacing any pending one (committed); returns the code."""
    code = generate_random_string(length, "0123456789")
    now = utcnow()
    for _ in range(3):
        db.session.execute(delete(EmailOtp).where(EmailOtp.identifier == ident))
        db.session.add(
            EmailOtp(
                id=generate_id(),
                identifier=ident,
                code_hash=_hash(ident, code),
                attempts=0,
                expires_at=now + timedelta(seconds=expires_in),
                created_at=now,
            )
        )
        try:
            db.session.commit()
            return code
        except IntegrityError:  # another request issued one at the same time: replace it
            db.session.rollback()
    raise ApiError(409, "CONFLICT", "Try again")


def discard(ident: str) -> None:
    db.session.execute(delete(EmailOtp).where(EmailOtp.identifier == ident))
    db.session.commit()


def verify(ident: str, code: str, *, allowed_attempts: int, consume: bool = True) -> None:
    """Accept ``code`` for ``ident`` or raise better-auth's error.

    ``consume=True`` deletes the code and commits: once this returns, the code is spent whatever
    happens next. ``consume=False`` only checks (better-auth's ``check-verification-otp``).
    """
    now = utcnow()
    if len(code) <= 64:
        digest = _hash(ident, code)
        live = (
            (EmailOtp.identifier == ident)
            & (EmailOtp.code_hash == digest)
            & (EmailOtp.attempts < allowed_attempts)
            & (EmailOtp.expires_at > now)
        )
        if consume:
            won = db.session.execute(delete(EmailOtp).where(live).returning(EmailOtp.id)).first()
        else:
            won = db.session.execute(select(EmailOtp.id).where(live)).first()
        if won is not None:
            db.session.commit()
            return
    row = db.session.execute(select(EmailOtp.attempts, EmailOtp.expires_at).where(EmailOtp.identifier == ident)).first()
    if row is None:
        db.session.rollback()
        raise INVALID_OTP
    attempts, expires_at = row
    if expires_at <= now:
        db.session.rollback()
        discard(ident)
        raise OTP_EXPIRED
    if attempts >= allowed_attempts:
        db.session.rollback()
        raise TOO_MANY_ATTEMPTS
    db.session.execute(
        update(EmailOtp)
        .where(EmailOtp.identifier == ident, EmailOtp.attempts < allowed_attempts)
        .values(attempts=EmailOtp.attempts + 1)
    )
    db.session.commit()
    raise INVALID_OTP
