"""The two-factor routes: ``/two-factor/*`` as better-auth's twoFactor plugin (reference §6).

Security (beyond better-auth, see the package docstring): a TOTP code is accepted once (RFC 6238
§5.2), secrets are encrypted and backup codes hashed at rest, a challenge allows a few attempts,
and repeated failures lock the second factor of the account for a while (OWASP Authentication
Cheat Sheet "Account Lockout"; NIST SP 800-63B §5.2.2). Every change of the 2FA state rotates the
caller's session (OWASP Session Management Cheat Sheet: renew the session on privilege change).
"""

from __future__ import annotations

from flask import Response
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select, update

from app.core.api import endpoint
from app.core.errors import ApiError
from app.core.settings import current
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.cookies import DONT_REMEMBER, delete_cookie, read_signed_cookie
from app.modules.auth.crypto import generate_id
from app.modules.auth.identity import resolve_identity
from app.modules.auth.lockout import AccountLockout
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.routes.common import (
    banned_user,
    bp,
    current_user_row,
    hasher,
    json_response,
    require_session,
    session_guard,
    settings,
    start_session,
    with_session_cookie,
)
from app.modules.auth.serializers import user_json
from app.modules.auth.sessions import ResolvedSession, invalidate_user, revoke_by_hash
from app.modules.auth.state import auth_state
from app.modules.auth.two_factor import backup_codes
from app.modules.auth.two_factor import schemas as s
from app.modules.auth.two_factor.challenge import (
    CHALLENGE_COOKIE,
    TRUST_COOKIE,
    Challenge,
    count_attempt,
    end_challenge,
    forget_devices,
    load_challenge,
    trust_device,
)
from app.modules.auth.two_factor.models import TwoFactor
from app.modules.auth.two_factor.options import TwoFactorOptions
from app.modules.auth.two_factor.totp import matching_step, new_secret, seal, totp_uri, unseal

TAGS = ["Two-factor"]

INVALID_PASSWORD = ApiError(400, "INVALID_PASSWORD", "Invalid password")
INVALID_CODE = ApiError(401, "INVALID_CODE", "Invalid code")
INVALID_BACKUP_CODE = ApiError(401, "INVALID_BACKUP_CODE", "Invalid backup code")
TOTP_NOT_ENABLED = ApiError(400, "TOTP_NOT_ENABLED", "TOTP not enabled")
BACKUP_CODES_NOT_ENABLED = ApiError(400, "BACKUP_CODES_NOT_ENABLED", "Backup codes aren't enabled")
TWO_FACTOR_NOT_ENABLED = ApiError(400, "TWO_FACTOR_NOT_ENABLED", "Two factor isn't enabled")
LOCKED = ApiError(
    429,
    "ACCOUNT_TEMPORARILY_LOCKED",
    "Too many failed verification attempts. Your account is temporarily locked. Please try again later.",
)


def _options() -> TwoFactorOptions:
    return current(TwoFactorOptions)


def _secret() -> str:
    secret: str = settings().auth.secret or ""
    return secret


def two_factor_lockout() -> AccountLockout | None:
    lockout: AccountLockout | None = auth_state().lockout
    return lockout


def lock_key(user_id: str) -> str:
    """The lockout identifier of a user's second factor (apart from the password's)."""
    return f"2fa:{user_id}"


def _row(user_id: str) -> TwoFactor | None:
    return db.session.scalar(select(TwoFactor).where(TwoFactor.user_id == user_id))


def _check_password(user_id: str, password: str) -> None:
    hashed = db.session.scalar(
        select(Account.password).where(Account.user_id == user_id, Account.provider_id == "credential")
    )
    if not hashed:
        hasher().dummy_verify(password)
        raise INVALID_PASSWORD
    if not hasher().verify(hashed, password):
        raise INVALID_PASSWORD


def _uri(user: User, row: TwoFactor, issuer: str | None = None) -> str:
    options = _options()
    return totp_uri(
        unseal(row.secret, _secret()),
        issuer=issuer or options.issuer or settings().auth.app_name,
        account=user.email,
        digits=options.digits,
        period=options.period,
    )


def _accept_totp(row: TwoFactor, code: str) -> bool:
    """True when ``code`` is valid now and its time step is newer than the last accepted one.

    The conditional UPDATE makes the check-and-record atomic: of two requests racing with the
    same code, one wins.
    """
    options = _options()
    step = matching_step(unseal(row.secret, _secret()), code, digits=options.digits, period=options.period)
    if step is None:
        return False
    result = db.session.execute(
        update(TwoFactor)
        .where(TwoFactor.id == row.id, or_(TwoFactor.last_used_step.is_(None), TwoFactor.last_used_step < step))
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def _accept_backup_code(row: TwoFactor, code: str) -> bool:
    """Consume a backup code; an optimistic compare-and-set keeps each code single-use under races."""
    remaining = backup_codes.consume(row.backup_codes, code, _secret())
    if remaining is None:
        return False
    result = db.session.execute(
        update(TwoFactor)
        .where(TwoFactor.id == row.id, TwoFactor.backup_codes == row.backup_codes)
        .values(backup_codes=remaining)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


def rotate_session(resolved: ResolvedSession, user: User) -> str:
    """A new session in place of the caller's (same remember-me, organization, impersonator)."""
    revoke_by_hash([resolved.token_hash])
    token, session = start_session(user, dont_remember=resolved.dont_remember)
    session.active_organization_id = resolved.session.get("activeOrganizationId")
    session.impersonated_by = resolved.session.get("impersonatedBy")
    return token


def token_and_user(token: str | None, user: User) -> Response:
    return json_response({"token": token, "user": user_json(user)})


# -- sign-in with a second factor ---------------------------------------------------------------


def _challenge_gate(challenge: Challenge, row: TwoFactor | None, not_enabled: ApiError) -> TwoFactor:
    """Checks before a code is even looked at: 2FA set up, account not locked, attempts left."""
    if row is None or not row.verified:
        raise not_enabled
    lockout = two_factor_lockout()
    if lockout is not None and lockout.is_locked(lock_key(challenge.user.id)):
        audit_logger.log_async(actor_id=challenge.user.id, action="2fa.locked", resource_type="user",
                               resource_id=challenge.user.id)
        raise LOCKED
    count_attempt(challenge)
    return row


def refuse(challenge: Challenge, error: ApiError, method: str) -> ApiError:
    db.session.rollback()
    lockout = two_factor_lockout()
    if lockout is not None:
        lockout.record_failure(lock_key(challenge.user.id))
    audit_logger.log_async(actor_id=challenge.user.id, action="2fa.failure", resource_type="user",
                           resource_id=challenge.user.id, details={"method": method})
    return error


def complete_sign_in(challenge: Challenge, *, trust: bool, method: str) -> Response:
    user = challenge.user
    if not end_challenge(challenge):  # another request completed this challenge first
        db.session.rollback()
        raise ApiError(401, "INVALID_TWO_FACTOR_COOKIE", "Invalid two factor cookie")
    if user.is_banned():
        db.session.commit()
        raise banned_user()
    token, _ = start_session(user, dont_remember=challenge.dont_remember)
    response = token_and_user(token, user)
    with_session_cookie(response, token, dont_remember=challenge.dont_remember)
    delete_cookie(response, CHALLENGE_COOKIE)
    if trust:
        trust_device(response, user.id)
        if challenge.dont_remember:
            delete_cookie(response, DONT_REMEMBER)
    db.session.commit()
    lockout = two_factor_lockout()
    if lockout is not None:  # after the commit: without Redis the counters are in the database too
        lockout.reset(lock_key(user.id))
    audit_logger.log_async(actor_id=user.id, action="auth.sign_in", resource_type="user", resource_id=user.id,
                           details={"second_factor": method, "trust_device": trust})
    return response


# -- routes ---------------------------------------------------------------------------------------


@bp.post("/two-factor/enable", endpoint="two_factor_enable")
@endpoint(summary="Start TOTP setup: a secret and backup codes, pending until the first code is verified",
          tags=TAGS, body=s.EnableBody, response=s.EnableResponse,
          responses={400: "Invalid password, TOTP already enabled, or OTP not available"})
@session_guard
def enable(body: s.EnableBody) -> ResponseReturnValue:
    resolved = require_session()
    user = current_user_row(resolved)
    _check_password(user.id, body.password)
    if body.method == "otp":
        raise ApiError(400, "OTP_NOT_CONFIGURED", "OTP is not available")
    row = _row(user.id)
    if row is not None and row.verified:
        raise ApiError(400, "TOTP_ALREADY_ENABLED", "TOTP is already enabled")
    options = _options()
    codes = backup_codes.generate(options.backup_code_amount, options.backup_code_length)
    if row is None:
        row = TwoFactor(id=generate_id(), user_id=user.id)
        db.session.add(row)
    # The pending secret lives here, server-side and encrypted, never in a cookie.
    row.secret = seal(new_secret(), _secret())
    row.backup_codes = backup_codes.encode(codes)
    row.verified = False
    row.last_used_step = None
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="2fa.setup_started", resource_type="user", resource_id=user.id)
    return json_response({"method": "totp", "totpURI": _uri(user, row, body.issuer), "backupCodes": codes})


@bp.post("/two-factor/get-totp-uri", endpoint="two_factor_get_totp_uri")
@endpoint(summary="The otpauth:// URI of the user's TOTP secret", tags=TAGS, body=s.PasswordBody,
          response=s.TotpUriResponse, responses={400: "Invalid password or TOTP not set up"})
@session_guard
def get_totp_uri(body: s.PasswordBody) -> ResponseReturnValue:
    resolved = require_session()
    user = current_user_row(resolved)
    row = _row(user.id)
    if row is None:
        raise TOTP_NOT_ENABLED
    _check_password(user.id, body.password)
    return json_response({"totpURI": _uri(user, row)})


@bp.post("/two-factor/verify-totp", endpoint="two_factor_verify_totp")
@endpoint(summary="Verify a TOTP code: completes setup (with a session) or a sign-in challenge",
          tags=TAGS, body=s.VerifyTotpBody, response=s.TokenAndUser,
          responses={400: "TOTP not enabled or too many attempts", 401: "Invalid code or challenge",
                     429: "Second factor temporarily locked"})
def verify_totp(body: s.VerifyTotpBody) -> ResponseReturnValue:
    resolved = resolve_identity()
    if resolved is None:
        challenge = load_challenge()
        row = _challenge_gate(challenge, _row(challenge.user.id), TOTP_NOT_ENABLED)
        if not _accept_totp(row, body.code):
            raise refuse(challenge, INVALID_CODE, "totp")
        return complete_sign_in(challenge, trust=body.trust_device, method="totp")
    user = current_user_row(resolved)
    own = _row(user.id)
    if own is None:
        raise TOTP_NOT_ENABLED
    row = own
    if not _accept_totp(row, body.code):
        db.session.rollback()
        raise INVALID_CODE
    token = resolved.token
    rotated = False
    if not row.verified:
        row.verified = True
        if not user.two_factor_enabled:
            user.two_factor_enabled = True
            user.updated_at = utcnow()
            invalidate_user(user.id)
            token = rotate_session(resolved, user)
            rotated = True
    db.session.commit()
    if rotated:
        audit_logger.log_async(actor_id=user.id, action="2fa.enable", resource_type="user", resource_id=user.id)
    response = token_and_user(token, user)
    if rotated:
        with_session_cookie(response, token, dont_remember=resolved.dont_remember)
    return response


@bp.post("/two-factor/verify-backup-code", endpoint="two_factor_verify_backup_code")
@endpoint(summary="Use a single-use backup code (for a sign-in challenge or with a session)",
          tags=TAGS, body=s.VerifyBackupCodeBody, response=s.TokenAndUser,
          responses={400: "Backup codes not enabled or too many attempts", 401: "Invalid backup code or challenge",
                     429: "Second factor temporarily locked"})
def verify_backup_code(body: s.VerifyBackupCodeBody) -> ResponseReturnValue:
    resolved = resolve_identity()
    if resolved is None:
        challenge = load_challenge()
        row = _challenge_gate(challenge, _row(challenge.user.id), BACKUP_CODES_NOT_ENABLED)
        if not _accept_backup_code(row, body.code):
            raise refuse(challenge, INVALID_BACKUP_CODE, "backup_code")
        if body.disable_session:
            db.session.commit()
            return token_and_user(None, challenge.user)
        return complete_sign_in(challenge, trust=body.trust_device, method="backup_code")
    user = current_user_row(resolved)
    own = _row(user.id)
    if own is None:
        raise BACKUP_CODES_NOT_ENABLED
    if not _accept_backup_code(own, body.code):
        db.session.rollback()
        raise INVALID_BACKUP_CODE
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="2fa.backup_code_used", resource_type="user", resource_id=user.id)
    return token_and_user(resolved.token, user)


@bp.post("/two-factor/generate-backup-codes", endpoint="two_factor_generate_backup_codes")
@endpoint(summary="Replace the backup codes with new ones (the old ones stop working)", tags=TAGS,
          body=s.PasswordBody, response=s.BackupCodesResponse,
          responses={400: "Invalid password or two-factor not enabled"})
@session_guard
def generate_backup_codes(body: s.PasswordBody) -> ResponseReturnValue:
    resolved = require_session()
    user = current_user_row(resolved)
    if not user.two_factor_enabled:
        raise TWO_FACTOR_NOT_ENABLED
    _check_password(user.id, body.password)
    row = _row(user.id)
    if row is None:
        raise TWO_FACTOR_NOT_ENABLED
    options = _options()
    codes = backup_codes.generate(options.backup_code_amount, options.backup_code_length)
    row.backup_codes = backup_codes.encode(codes)
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="2fa.backup_codes_regenerated", resource_type="user",
                           resource_id=user.id)
    return json_response({"status": True, "backupCodes": codes})


@bp.post("/two-factor/disable", endpoint="two_factor_disable")
@endpoint(summary="Turn two-factor off: the secret, backup codes and trusted devices are forgotten",
          tags=TAGS, body=s.PasswordBody, response=s.StatusOut, responses={400: "Invalid password"})
@session_guard
def disable(body: s.PasswordBody) -> ResponseReturnValue:
    from flask import request

    resolved = require_session()
    user = current_user_row(resolved)
    _check_password(user.id, body.password)
    user.two_factor_enabled = False
    user.updated_at = utcnow()
    row = _row(user.id)
    if row is not None:
        db.session.delete(row)
    forget_devices(user.id)
    invalidate_user(user.id)
    token = rotate_session(resolved, user)
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="2fa.disable", resource_type="user", resource_id=user.id)
    response = with_session_cookie(json_response({"status": True}), token, dont_remember=resolved.dont_remember)
    if read_signed_cookie(request, TRUST_COOKIE) is not None:
        delete_cookie(response, TRUST_COOKIE)
    return response


