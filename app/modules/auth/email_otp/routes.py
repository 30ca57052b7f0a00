"""better-auth's ``emailOTP`` routes under ``/api/v1/auth`` (paths, bodies, answers and codes of 1.7).

No enumeration (OWASP Authentication Cheat Sheet, "Authentication and Error Messages"): the send
routes answer ``{"success": true}`` whether or not the address has an account, and mails go out
after the answer (``send_auth_mail``). Where a valid code was shown, saying that the user does not
exist leaks nothing the mailbox owner does not know (better-auth's ``USER_NOT_FOUND``).
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.credentials import store_password_hash
from app.modules.auth.email_otp import codes
from app.modules.auth.email_otp import schemas as s
from app.modules.auth.email_otp.settings import EmailOtpSettings
from app.modules.auth.emails import one_time_code_email
from app.modules.auth.models import User, utcnow
from app.modules.auth.passwordless import (
    complete_sign_in,
    create_verified_user,
    prove_email_ownership,
    require_enabled,
    user_by_email,
)
from app.modules.auth.passwords import check_password_length
from app.modules.auth.routes.common import (
    bp,
    hasher,
    json_response,
    require_session,
    session_guard,
    settings,
    user_body,
)
from app.modules.auth.routes.verification import send_auth_mail
from app.modules.auth.schemas import normalize_email
from app.modules.auth.sessions import invalidate_user, is_fresh, revoke_user_sessions
from app.modules.auth.state import auth_state

TAGS = ["Email OTP"]
USER_NOT_FOUND = ApiError(400, "USER_NOT_FOUND", "User not found")


def _cfg() -> EmailOtpSettings:
    cfg = require_enabled(EmailOtpSettings)
    return cfg


def _email(value: str) -> str:
    try:
        return normalize_email(value)
    except ValueError:
        raise ApiError(400, "INVALID_EMAIL", "Invalid email") from None


def _throttle(email: str) -> bool:
    """The per-address limit, counted before anything depends on the account existing; False:
    answer as usual and send nothing (see :class:`~app.modules.auth.passwordless.AddressLimiter`)."""
    from flask import current_app

    limiter = current_app.extensions["auth.email_otp.address_limiter"]
    if limiter.hit(email):
        return True
    audit_logger.log_async(
        actor_id=None, action="auth.email_otp.throttled", resource_type="user", details={"email": email}
    )
    return False


def _send(cfg: EmailOtpSettings, email: str, kind: str, owner: str | None = None) -> None:
    """Issue a code for ``kind`` and mail it to ``email`` (``owner`` prefixes the identifier of
    change-email codes, as better-auth's ``<userId>:<newEmail>``)."""
    ident = codes.identifier(kind, f"{owner}:{email}" if owner else email)
    code = codes.issue(ident, length=cfg.otp_length, expires_in=cfg.expires_in)
    send_auth_mail(one_time_code_email(email, code, kind, max(1, cfg.expires_in // 60)))
    audit_logger.log_async(
        actor_id=None, action="auth.email_otp.sent", resource_type="user", details={"email": email, "type": kind}
    )


def _failed(kind: str, email: str, error: ApiError) -> None:
    audit_logger.log_async(
        actor_id=None,
        action="auth.email_otp.failure",
        resource_type="user",
        details={"email": email, "type": kind, "code": error.code},
    )


def _verify(cfg: EmailOtpSettings, kind: str, email: str, otp: str, *, consume: bool = True) -> None:
    try:
        codes.verify(codes.identifier(kind, email), otp, allowed_attempts=cfg.allowed_attempts, consume=consume)
    except ApiError as error:
        _failed(kind, email, error)
        raise


@bp.post("/email-otp/send-verification-otp")
@endpoint(
    summary="Mail a one-time code (same answer for unknown addresses)",
    tags=TAGS,
    body=s.SendOtpBody,
    response=s.SuccessOut,
)
def send_verification_otp(body: s.SendOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    if body.type == "change-email":
        raise ApiError(400, "INVALID_OTP_TYPE", "Invalid OTP type")
    if not _throttle(email):
        return json_response({"success": True})
    user = user_by_email(email)
    if user is not None or (body.type == "sign-in" and not cfg.disable_sign_up):
        _send(cfg, email, body.type)
    return json_response({"success": True})


@bp.post("/email-otp/check-verification-otp")
@endpoint(summary="Check a code without using it", tags=TAGS, body=s.CheckOtpBody, response=s.SuccessOut)
def check_verification_otp(body: s.CheckOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    _verify(cfg, body.type, email, body.otp, consume=False)
    db.session.rollback()
    if user_by_email(email) is None:
        raise USER_NOT_FOUND
    return json_response({"success": True})


@bp.post("/email-otp/verify-email")
@endpoint(
    summary="Verify the email address with a code", tags=TAGS, body=s.VerifyEmailOtpBody, response=s.VerifyEmailOtpOut
)
def verify_email_otp(body: s.VerifyEmailOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    _verify(cfg, "email-verification", email, body.otp)
    user = user_by_email(email)
    if user is None:
        db.session.commit()  # the code is spent either way
        raise USER_NOT_FOUND
    user.email_verified = True
    user.updated_at = utcnow()
    invalidate_user(user.id)
    db.session.commit()
    audit_logger.log_async(
        actor_id=user.id,
        action="user.email_verified",
        resource_type="user",
        resource_id=user.id,
        details={"method": "email-otp"},
    )
    return json_response({"status": True, "token": None, "user": user_body(user)})


@bp.post("/sign-in/email-otp")
@endpoint(
    summary="Sign in (or up) with a mailed code",
    tags=TAGS,
    body=s.SignInOtpBody,
    response=s.TokenUserOut,
    responses={400: "Invalid or expired code", 403: "Too many attempts, or banned"},
)
def sign_in_email_otp(body: s.SignInOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    _verify(cfg, "sign-in", email, body.otp)
    user = user_by_email(email)
    if user is None:
        if cfg.disable_sign_up:
            db.session.commit()
            raise codes.INVALID_OTP
        user, created = create_verified_user(email, body.name, body.image)
        if created:
            audit_logger.log_async(
                actor_id=user.id,
                action="user.sign_up",
                resource_type="user",
                resource_id=user.id,
                details={"method": "email-otp"},
            )
    else:
        prove_email_ownership(user)
    return complete_sign_in(user, method="email-otp", remember_me=body.remember_me)


def _request_reset(body: s.EmailOnlyBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    if _throttle(email) and user_by_email(email) is not None:
        _send(cfg, email, "forget-password")
    return json_response({"success": True})


@bp.post("/email-otp/request-password-reset")
@endpoint(
    summary="Mail a password reset code (same answer for unknown addresses)",
    tags=TAGS,
    body=s.EmailOnlyBody,
    response=s.SuccessOut,
)
def request_password_reset_otp(body: s.EmailOnlyBody) -> ResponseReturnValue:
    return _request_reset(body)


@bp.post("/forget-password/email-otp")
@endpoint(
    summary="Deprecated name of email-otp/request-password-reset",
    tags=TAGS,
    body=s.EmailOnlyBody,
    response=s.SuccessOut,
)
def forget_password_otp(body: s.EmailOnlyBody) -> ResponseReturnValue:
    return _request_reset(body)


@bp.post("/email-otp/reset-password")
@endpoint(
    summary="Set a new password with a code; every session of the user ends",
    tags=TAGS,
    body=s.ResetPasswordOtpBody,
    response=s.SuccessOut,
)
def reset_password_otp(body: s.ResetPasswordOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    email = _email(body.email)
    auth = settings().auth
    check_password_length(body.password, auth.min_password_length, auth.max_password_length)
    password_hash = hasher().hash(body.password)  # before the code is consumed: no half-done reset
    _verify(cfg, "forget-password", email, body.otp)
    user = user_by_email(email)
    if user is None:
        db.session.commit()
        raise USER_NOT_FOUND
    prove_email_ownership(user)  # an unverified account keeps nothing its creator set up
    store_password_hash(user.id, password_hash)
    now = utcnow()
    user.updated_at = now
    revoke_user_sessions(user.id)  # better than better-auth: a reset ends every session (OWASP)
    db.session.commit()

    lockout = auth_state().lockout
    if lockout is not None:
        lockout.reset(user.email)
    audit_logger.log_async(
        actor_id=user.id,
        action="user.password_reset",
        resource_type="user",
        resource_id=user.id,
        details={"method": "email-otp"},
    )
    return json_response({"success": True})


def _change_email_session(cfg: EmailOtpSettings, new_email: str) -> tuple[User, str]:
    resolved = require_session()
    if not cfg.change_email_enabled:
        raise ApiError(400, "CHANGE_EMAIL_WITH_OTP_IS_DISABLED", "Change email with OTP is disabled")
    if not is_fresh(resolved):
        raise ApiError(403, "SESSION_NOT_FRESH", "Session is not fresh")
    email = _email(new_email)
    user = db.session.get(User, resolved.user_id)
    if user is None:
        raise ApiError(401, "UNAUTHORIZED", "Unauthorized")
    if email == user.email:
        raise ApiError(400, "EMAIL_IS_THE_SAME", "Email is the same")
    return user, email


@bp.post("/email-otp/request-email-change")
@endpoint(
    summary="Mail a code to a new address to change to it",
    tags=TAGS,
    body=s.RequestEmailChangeBody,
    response=s.SuccessOut,
)
@session_guard(check=lambda **_: (_cfg(), require_session()))
def request_email_change_otp(body: s.RequestEmailChangeBody) -> ResponseReturnValue:
    cfg = _cfg()
    user, email = _change_email_session(cfg, body.new_email)
    if _throttle(email) and user_by_email(email) is None:  # a taken address answers the same
        _send(cfg, email, "change-email", owner=user.id)
    return json_response({"success": True})


@bp.post("/email-otp/change-email")
@endpoint(
    summary="Change the email address with the code mailed to it",
    tags=TAGS,
    body=s.ChangeEmailOtpBody,
    response=s.SuccessOut,
)
@session_guard(check=lambda **_: (_cfg(), require_session()))
def change_email_otp(body: s.ChangeEmailOtpBody) -> ResponseReturnValue:
    cfg = _cfg()
    user, email = _change_email_session(cfg, body.new_email)
    _verify(cfg, "change-email", f"{user.id}:{email}", body.otp)
    if user_by_email(email) is not None:
        db.session.commit()
        raise ApiError(400, "EMAIL_ALREADY_IN_USE", "Email already in use")
    old = user.email
    user.email = email
    user.email_verified = True
    user.updated_at = utcnow()
    invalidate_user(user.id)
    db.session.commit()
    audit_logger.log_async(
        actor_id=user.id,
        action="user.email_change",
        resource_type="user",
        resource_id=user.id,
        details={"method": "email-otp", "from": old},
    )
    return json_response({"success": True})
