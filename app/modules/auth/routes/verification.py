"""Email verification, email change and password reset (better-auth reference §3, §4).

Verification and change-email links carry better-auth's HS256 JWT (``{email, userId}``, 1 hour).
Better than better-auth: a change-email token is dead once the email changed, and a reset token is
single-use, stored only as its SHA-256, and ends every session of the user when used (OWASP
Forgot Password Cheat Sheet). Request endpoints answer the same whether the account exists or not.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import urlencode, urljoin

from flask import redirect
from flask.typing import ResponseReturnValue
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import OctKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db, rows_matched
from app.modules import audit_logger
from app.modules.auth import schemas as s
from app.modules.auth.credentials import store_password_hash
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.emails import password_reset_email, verification_email
from app.modules.auth.identity import resolve_identity
from app.modules.auth.mail import Mailer, MailError, Message, get_mailer
from app.modules.auth.models import User, Verification, utcnow
from app.modules.auth.passwords import check_password_length
from app.modules.auth.routes.common import (
    TAGS,
    bp,
    hasher,
    json_response,
    require_session,
    session_guard,
    settings,
    with_session_cookie,
)
from app.modules.auth.sessions import invalidate_user, revoke_user_sessions
from app.modules.auth.single_use import RESET_PREFIX, consume, forget_reset_tokens
from app.modules.auth.state import auth_state

log = logging.getLogger(__name__)

VERIFY_EXPIRES_IN = 3600
RESET_EXPIRES_IN = 3600
RESET_MESSAGE = "If this email exists in our system, check your email for the reset link"


def _secret() -> str:
    secret: str = settings().auth.secret
    return secret


def _auth_url(path: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{settings().base_url}/api/v1/auth{path}" + (f"?{query}" if query else "")


def _check_url(url: str | None, code: str) -> None:
    checker = auth_state().check_redirect
    if checker is not None:
        checker(url, code)


def _deliver(mailer: Mailer, message: Message) -> None:
    try:
        mailer.send(message)
    except MailError:
        # The caller learns nothing (no enumeration, no SMTP details); operators see the log line.
        log.exception("could not send an auth mail")


def send_auth_mail(message: Message) -> None:
    """Send after the answer, off the request thread: how long SMTP takes must not tell whether an
    account exists. The module's ``on_close`` waits for mails still in flight."""
    auth_state().mail_executor.submit(_deliver, get_mailer(), message)


def email_token(claims: dict[str, str]) -> str:
    now = utcnow()
    payload = {**claims, "iat": int(now.timestamp()), "exp": int(now.timestamp()) + VERIFY_EXPIRES_IN}
    return jwt.encode({"alg": "HS256"}, payload, OctKey.import_key(_secret()), algorithms=["HS256"])


def send_verification_mail(user: User, callback_url: str | None) -> None:
    token = email_token({"email": user.email, "userId": user.id})
    send_auth_mail(verification_email(user.email, _auth_url("/verify-email", token=token, callbackURL=callback_url)))


@bp.post("/send-verification-email")
@endpoint(
    summary="Send (again) the email verification link",
    tags=TAGS,
    body=s.SendVerificationEmailBody,
    response=s.StatusResponse,
)
def send_verification_email(body: s.SendVerificationEmailBody) -> ResponseReturnValue:
    _check_url(body.callback_url, "INVALID_CALLBACK_URL")
    resolved = resolve_identity()
    if resolved is not None and resolved.user["email"] != body.email:
        raise ApiError(400, "EMAIL_MISMATCH", "Email mismatch")
    user = db.session.scalar(select(User).where(User.email == body.email))
    if user is not None and not user.email_verified:
        send_verification_mail(user, body.callback_url)
    return json_response({"status": True})


def _verify_error(code: str, message: str, callback_url: str | None, status: int = 401) -> ResponseReturnValue:
    if callback_url:
        sep = "&" if "?" in callback_url else "?"
        return redirect(f"{callback_url}{sep}error={code}", code=302)
    raise ApiError(status, code, message)


@bp.get("/verify-email")
@endpoint(
    summary="Verify an email address (or confirm an email change) from the mailed link",
    tags=TAGS,
    query=s.VerifyEmailQuery,
    response=s.VerifyEmailResponse,
    responses={
        302: "Redirect to callbackURL",
        401: "Invalid or expired token, or the user is gone",
        403: "Untrusted callback URL",
    },
)
def verify_email(query: s.VerifyEmailQuery) -> ResponseReturnValue:
    _check_url(query.callback_url, "INVALID_CALLBACK_URL")
    try:
        claims = jwt.decode(query.token, OctKey.import_key(_secret()), algorithms=["HS256"]).claims
        jwt.JWTClaimsRegistry(exp={"essential": True}, iat={"essential": True}).validate(claims)
    except ExpiredTokenError:
        return _verify_error("TOKEN_EXPIRED", "Token expired", query.callback_url)
    except (JoseError, ValueError):
        return _verify_error("INVALID_TOKEN", "Invalid token", query.callback_url)
    user = db.session.get(User, str(claims.get("userId", ""))) if claims.get("userId") else None
    if user is None:
        user = db.session.scalar(select(User).where(User.email == str(claims.get("email", ""))))
    if user is None or user.email != claims.get("email"):
        # The email changed since the token was made: the token is spent.
        return _verify_error("USER_NOT_FOUND", "User not found", query.callback_url)
    email_changed = claims.get("requestType") == "change-email-verification"
    if email_changed:
        new_email = str(claims.get("updateTo", ""))
        if db.session.scalar(select(User.id).where(User.email == new_email)):
            return _verify_error("USER_ALREADY_EXISTS", "User already exists", query.callback_url, 400)
        # The link is spent by the change itself: a compare-and-set on the old address, so of racing
        # requests with one link only one changes the email (and the old address's links die).
        try:
            won = rows_matched(db.session.execute(
                update(User)
                .where(User.id == user.id, User.email == claims.get("email"))
                .values(email=new_email, email_verified=True, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            ))
        except IntegrityError:  # the new address was taken meanwhile
            db.session.rollback()
            return _verify_error("USER_ALREADY_EXISTS", "User already exists", query.callback_url, 400)
        if won != 1:
            db.session.rollback()
            return _verify_error("USER_NOT_FOUND", "User not found", query.callback_url)
        invalidate_user(user.id)
        db.session.commit()
        db.session.refresh(user)
        audit_logger.log_async(actor_id=user.id, action="user.email_change", resource_type="user", resource_id=user.id)
    else:
        user.email_verified = True
        user.updated_at = utcnow()
        invalidate_user(user.id)
        db.session.commit()
    response = redirect(query.callback_url, code=302) if query.callback_url else json_response(
        {"status": True, "user": None}
    )
    resolved = resolve_identity() if email_changed else None
    if resolved is not None and resolved.user_id == user.id:
        # The signed-in browser gets its session re-set with the new email, as better-auth does.
        with_session_cookie(response, resolved.token, dont_remember=resolved.dont_remember)
    return response


@bp.post("/change-email")
@endpoint(
    summary="Change the user's email (a link is mailed to the new address)",
    tags=TAGS,
    body=s.ChangeEmailBody,
    response=s.StatusResponse,
)
@session_guard
def change_email(body: s.ChangeEmailBody) -> ResponseReturnValue:
    resolved = require_session()
    _check_url(body.callback_url, "INVALID_CALLBACK_URL")
    current_email = resolved.user["email"]
    if body.new_email == current_email:
        raise ApiError(400, "EMAIL_IS_THE_SAME", "Email is the same")
    taken = db.session.scalar(select(User.id).where(User.email == body.new_email))
    if not taken:  # an existing target answers the same, so nothing is enumerated
        token = email_token(
            {
                "email": current_email,
                "updateTo": body.new_email,
                "userId": resolved.user_id,
                "requestType": "change-email-verification",
            }
        )
        send_auth_mail(
            # better-auth sends the browser home ("/") after the change when no callbackURL is given.
            verification_email(
                body.new_email, _auth_url("/verify-email", token=token, callbackURL=body.callback_url or "/")
            )
        )
    return json_response({"status": True})


@bp.post("/request-password-reset")
@endpoint(
    summary="Mail a password reset link (same answer for unknown emails)",
    tags=TAGS,
    body=s.RequestPasswordResetBody,
    response=s.MessageStatusResponse,
)
def request_password_reset(body: s.RequestPasswordResetBody) -> ResponseReturnValue:
    _check_url(body.redirect_to, "INVALID_REDIRECT_URL")
    user = db.session.scalar(select(User).where(User.email == body.email))
    if user is not None:
        token = generate_id(24)
        now = utcnow()
        db.session.add(
            Verification(
                id=generate_id(),
                identifier=RESET_PREFIX + hash_token(token),
                value=user.id,
                expires_at=now + timedelta(seconds=RESET_EXPIRES_IN),
                created_at=now,
                updated_at=now,
            )
        )
        db.session.commit()
        url = _auth_url(f"/reset-password/{token}", callbackURL=body.redirect_to)
        send_auth_mail(password_reset_email(user.email, url))
    else:
        hash_token(body.email)  # keep the two branches close in cost; the mail is sent after the answer anyway
    return json_response({"status": True, "message": RESET_MESSAGE})


def _live_reset(token: str) -> Verification | None:
    row: Verification | None = db.session.scalar(
        select(Verification).where(Verification.identifier == RESET_PREFIX + hash_token(token))
    )
    if row is None or row.expires_at <= utcnow():
        return None
    return row


@bp.get("/reset-password/<token>")
@endpoint(
    summary="Follow a reset link: redirects to callbackURL with the token (or an error)",
    tags=TAGS,
    query=s.ResetPasswordTokenQuery,
    responses={302: "Redirect to callbackURL", 403: "Untrusted callback URL"},
    response=None,
)
def reset_password_callback(token: str, query: s.ResetPasswordTokenQuery) -> ResponseReturnValue:
    _check_url(query.callback_url, "INVALID_CALLBACK_URL")
    target = urljoin(settings().base_url + "/", query.callback_url)
    sep = "&" if "?" in target else "?"
    if len(token) > 256 or _live_reset(token) is None:
        return redirect(f"{target}{sep}error=INVALID_TOKEN", code=302)
    return redirect(f"{target}{sep}{urlencode({'token': token})}", code=302)


@bp.post("/reset-password")
@endpoint(
    summary="Set a new password with a reset token; every session of the user ends",
    tags=TAGS,
    body=s.ResetPasswordBody,
    response=s.StatusResponse,
)
def reset_password(body: s.ResetPasswordBody) -> ResponseReturnValue:
    from flask import request

    cfg = settings()
    token = body.token or request.args.get("token", "")
    check_password_length(body.new_password, cfg.auth.min_password_length, cfg.auth.max_password_length)
    # Consumed by one DELETE ... RETURNING: of racing requests with this token, one goes on.
    spent = consume(RESET_PREFIX + hash_token(token)) if token and len(token) <= 256 else None
    if spent is None or not spent.live:
        db.session.commit()  # an expired row stays deleted
        raise ApiError(400, "INVALID_TOKEN", "Invalid token")
    user_id = spent.value
    forget_reset_tokens(user_id)  # older links of this user die with this one
    owner = db.session.get(User, user_id)
    if owner is not None:
        from app.modules.auth.passwordless import prove_email_ownership

        # The link proved the mailbox: an unverified account keeps nothing its creator set up.
        prove_email_ownership(owner)
    store_password_hash(user_id, hasher().hash(body.new_password))
    revoke_user_sessions(user_id)
    db.session.commit()
    lockout = auth_state().lockout
    user = db.session.get(User, user_id)
    if lockout is not None and user is not None:
        lockout.reset(user.email)
    audit_logger.log_async(actor_id=user_id, action="user.password_reset", resource_type="user", resource_id=user_id)
    return json_response({"status": True})
