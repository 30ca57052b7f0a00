"""Sign-up, sign-in and sign-out with email and password (better-auth reference §4)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth import schemas as s
from app.modules.auth.cookies import token_from_request
from app.modules.auth.crypto import generate_id, hash_token
from app.modules.auth.identity import raise_if_unavailable, resolve_identity
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.passwords import check_password_length
from app.modules.auth.routes.common import (
    TAGS,
    banned_user,
    bp,
    hasher,
    json_response,
    settings,
    start_session,
    user_body,
    with_session_cookie,
    without_session,
)
from app.modules.auth.routes.verification import send_verification_mail
from app.modules.auth.sessions import revoke_by_hash
from app.modules.auth.sign_in_guard import sign_in_guard
from app.modules.auth.state import auth_state

INVALID_CREDENTIALS = ApiError(401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password")


def _check_callback(url: str | None, code: str) -> None:
    checker = auth_state().check_redirect
    if checker is not None:
        checker(url, code)


def _end_presented_session() -> None:
    """Session fixation defence (OWASP): a session presented at sign-in is replaced, not reused."""
    from flask import request

    token, _ = token_from_request(request)
    if token:
        revoke_by_hash([hash_token(token)])


@bp.post("/sign-up/email")
@endpoint(
    summary="Sign up with email and password",
    tags=TAGS,
    body=s.SignUpBody,
    response=s.TokenAndUser,
    responses={422: "A user with this email exists", 403: "Untrusted callback URL"},
)
def sign_up(body: s.SignUpBody) -> ResponseReturnValue:
    cfg = settings()
    _check_callback(body.callback_url, "INVALID_CALLBACK_URL")
    check_password_length(body.password, cfg.auth.min_password_length, cfg.auth.max_password_length)
    password_hash = hasher().hash(body.password)
    exists = db.session.scalar(select(func.count()).select_from(User).where(User.email == body.email))
    if exists:
        raise ApiError(422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.")
    now = utcnow()
    user = User(
        id=generate_id(),
        name=body.name,
        email=body.email,
        email_verified=False,
        image=body.image,
        firstname=body.firstname,
        lastname=body.lastname,
        bio=body.bio,
        role="user",
        banned=False,
        created_at=now,
        updated_at=now,
    )
    db.session.add(user)
    db.session.add(
        Account(
            id=generate_id(),
            account_id=user.id,
            provider_id="credential",
            user_id=user.id,
            password=password_hash,
            created_at=now,
            updated_at=now,
        )
    )
    token = None
    if not cfg.auth.require_email_verification:
        _end_presented_session()
        token, _ = start_session(user, dont_remember=not body.remember_me)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent sign-up with the same email won the race
        db.session.rollback()
        raise ApiError(
            422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email."
        ) from None
    audit_logger.log_async(actor_id=user.id, action="user.sign_up", resource_type="user", resource_id=user.id)
    if cfg.auth.require_email_verification:
        send_verification_mail(user, body.callback_url)
    response = json_response({"token": token, "user": user_body(user)})
    if token is not None:
        with_session_cookie(response, token, dont_remember=not body.remember_me)
    return response


def _credential_user(email: str, password: str) -> User | None:
    """The user whose email and password match, or None; equal cost either way (no enumeration)."""
    row = db.session.execute(
        select(User, Account.password)
        .join(Account, (Account.user_id == User.id) & (Account.provider_id == "credential"))
        .where(User.email == email)
    ).first()
    if row is None or not row[1]:
        hasher().dummy_verify(password)
        return None
    user, stored = row[0], row[1]
    if not hasher().verify(stored, password):
        return None
    if hasher().needs_rehash(stored):  # better-auth's scrypt hashes become argon2id here
        account = db.session.scalar(
            select(Account).where(Account.user_id == user.id, Account.provider_id == "credential")
        )
        if account is not None:
            account.password = hasher().hash(password)
    return user


@bp.post("/sign-in/email")
@endpoint(
    summary="Sign in with email and password",
    tags=TAGS,
    body=s.SignInBody,
    response=s.SignInResponse,
    responses={401: "Invalid email or password", 403: "Email not verified, banned user, or untrusted callback URL"},
)
def sign_in(body: s.SignInBody) -> ResponseReturnValue:
    cfg = settings()
    try:
        body.email = s.normalize_email(body.email)
    except ValueError:
        raise ApiError(400, "INVALID_EMAIL", "Invalid email") from None
    _check_callback(body.callback_url, "INVALID_CALLBACK_URL")
    guard = sign_in_guard()
    attempt = guard.attempt(body.email) if guard is not None else None
    if guard is not None and attempt is not None:
        if guard.refused(attempt):
            hasher().dummy_verify(body.password)  # a locked account answers like a wrong password, in time too
            audit_logger.log_async(
                actor_id=None, action="auth.sign_in.locked", resource_type="user", details={"email": body.email}
            )
            raise INVALID_CREDENTIALS
        guard.slow_down(attempt)
    user = _credential_user(body.email, body.password)
    if user is None:
        if guard is not None and attempt is not None:
            guard.failed(attempt)
        audit_logger.log_async(
            actor_id=None, action="auth.sign_in.failure", resource_type="user", details={"email": body.email}
        )
        raise INVALID_CREDENTIALS
    if guard is not None and attempt is not None:
        guard.succeeded(attempt)
    if user.is_banned():
        db.session.rollback()
        raise banned_user()
    if cfg.auth.require_email_verification and not user.email_verified:
        db.session.commit()
        raise ApiError(403, "EMAIL_NOT_VERIFIED", "Email not verified")
    # Plugins may take over here (two-factor challenge): a hook that returns a response ends the
    # sign-in with it, before any session exists.
    for hook in auth_state().sign_in_hooks:
        taken_over: Response | None = hook(user, body)
        if taken_over is not None:
            db.session.commit()
            return taken_over
    _end_presented_session()
    token, _ = start_session(user, dont_remember=not body.remember_me)
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="auth.sign_in", resource_type="user", resource_id=user.id)
    url = body.callback_url
    answer: dict[str, Any] = {"redirect": bool(url), "token": token, "user": user_body(user)}
    if url:  # better-auth leaves the key out without a callbackURL
        answer["url"] = url
    response = json_response(answer)
    if url:
        response.headers["Location"] = url
    return with_session_cookie(response, token, dont_remember=not body.remember_me)


@bp.post("/sign-out")
@endpoint(summary="Sign out: the session dies", tags=TAGS, body=s.SignOutBody, response=s.SuccessResponse)
def sign_out(body: s.SignOutBody) -> ResponseReturnValue:
    resolved = resolve_identity()
    raise_if_unavailable()  # a sign-out that cannot be applied is not reported as done
    if resolved is not None:
        revoke_by_hash([resolved.token_hash])
        db.session.commit()
        audit_logger.log_async(
            actor_id=resolved.user_id, action="auth.sign_out", resource_type="session", resource_id=resolved.session_id
        )
    response: Response = json_response({"success": True})
    return without_session(response)
