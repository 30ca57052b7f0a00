"""The signed-in user's own account: profile, password, email, deletion (better-auth reference §4)."""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth import schemas as s
from app.modules.auth.models import Account, User, utcnow
from app.modules.auth.passwords import check_password_length
from app.modules.auth.routes.common import (
    TAGS,
    bp,
    current_user_row,
    hasher,
    json_response,
    require_session,
    session_guard,
    settings,
    start_session,
    user_body,
    with_session_cookie,
    without_session,
)
from app.modules.auth.serializers import iso
from app.modules.auth.sessions import invalidate_user, is_fresh, revoke_user_sessions
from app.modules.auth.single_use import forget_reset_tokens

INVALID_PASSWORD = ApiError(400, "INVALID_PASSWORD", "Invalid password")


def _credential(user_id: str) -> Account | None:
    return db.session.scalar(select(Account).where(Account.user_id == user_id, Account.provider_id == "credential"))


def _check_password(user_id: str, password: str) -> Account:
    account = _credential(user_id)
    if account is None or not account.password:
        hasher().dummy_verify(password)
        raise ApiError(400, "CREDENTIAL_ACCOUNT_NOT_FOUND", "Credential account not found")
    if not hasher().verify(account.password, password):
        raise INVALID_PASSWORD
    return account


@bp.post("/update-user")
@endpoint(
    summary="Update the user's name, image and profile fields",
    tags=TAGS,
    body=s.UpdateUserBody,
    response=s.StatusResponse,
)
@session_guard
def update_user(body: s.UpdateUserBody) -> ResponseReturnValue:
    resolved = require_session()
    if body.email is not None:
        raise ApiError(400, "EMAIL_CAN_NOT_BE_UPDATED", "Email can not be updated")
    changes = body.model_dump(include={"name", "image", "firstname", "lastname", "bio"}, exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise ApiError(400, "VALIDATION_ERROR", "[body.name] Invalid input: expected string, received null")
    if not changes:
        raise ApiError(400, "NO_FIELDS_TO_UPDATE", "No fields to update")
    user = current_user_row(resolved)
    for field, value in changes.items():
        setattr(user, field, value)
    user.updated_at = utcnow()
    invalidate_user(user.id)
    db.session.commit()
    audit_logger.log_async(
        actor_id=user.id,
        action="user.update",
        resource_type="user",
        resource_id=user.id,
        details={"fields": sorted(changes)},
    )
    # better-auth re-sets the session cookie (and set-auth-token) here; clients expect it.
    return with_session_cookie(json_response({"status": True}), resolved.token, dont_remember=resolved.dont_remember)


@bp.post("/change-password")
@endpoint(
    summary="Change the password; every other session dies and this one is rotated",
    tags=TAGS,
    body=s.ChangePasswordBody,
    response=s.TokenAndUser,
    responses={400: "Invalid password or policy violation"},
)
@session_guard
def change_password(body: s.ChangePasswordBody) -> ResponseReturnValue:
    cfg = settings()
    resolved = require_session()
    check_password_length(body.new_password, cfg.auth.min_password_length, cfg.auth.max_password_length)
    account = _check_password(resolved.user_id, body.current_password)
    account.password = hasher().hash(body.new_password)
    account.updated_at = utcnow()
    user = current_user_row(resolved)
    # Better than better-auth: a password change always ends every session (OWASP Session
    # Management: renew on privilege change) and issues a fresh one to the caller.
    revoke_user_sessions(user.id)
    forget_reset_tokens(user.id)  # a reset link mailed before the change must not undo it
    token, _ = start_session(user, dont_remember=resolved.dont_remember)
    db.session.commit()
    audit_logger.log_async(actor_id=user.id, action="user.password_change", resource_type="user", resource_id=user.id)
    response = json_response({"token": token if body.revoke_other_sessions else None, "user": user_body(user)})
    return with_session_cookie(response, token, dont_remember=resolved.dont_remember)


@bp.post("/verify-password")
@endpoint(
    summary="Check the user's password", tags=TAGS, body=s.VerifyPasswordBody, response=s.StatusResponse
)
@session_guard
def verify_password(body: s.VerifyPasswordBody) -> ResponseReturnValue:
    resolved = require_session()
    _check_password(resolved.user_id, body.password)
    return json_response({"status": True})


@bp.post("/delete-user")
@endpoint(
    summary="Delete the user and everything of theirs",
    tags=TAGS,
    body=s.DeleteUserBody,
    response=s.DeleteUserResponse,
    responses={400: "Invalid password, or session too old without a password"},
)
@session_guard
def delete_user(body: s.DeleteUserBody) -> ResponseReturnValue:
    resolved = require_session()
    if not settings().auth.delete_user.enabled:  # better-auth: the session first, then 404 when off
        raise ApiError(404, "NOT_FOUND", "Not found")
    if body.password is not None:
        _check_password(resolved.user_id, body.password)
    elif not is_fresh(resolved):
        raise ApiError(400, "SESSION_EXPIRED", "Session expired. Re-authenticate to perform this action.")
    user = current_user_row(resolved)
    revoke_user_sessions(user.id)
    db.session.delete(user)
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id, action="user.delete", resource_type="user", resource_id=resolved.user_id
    )
    return without_session(json_response({"success": True, "message": "User deleted"}))


@bp.get("/list-accounts")
@endpoint(
    summary="The user's linked accounts (credential, identity providers)",
    tags=TAGS,
    response=list[s.AccountOut],
)
@session_guard
def list_accounts() -> ResponseReturnValue:
    resolved = require_session()
    rows = db.session.scalars(select(Account).where(Account.user_id == resolved.user_id)).all()
    return json_response(
        [
            {
                "id": a.id,
                "providerId": a.provider_id,
                "accountId": a.account_id,
                "userId": a.user_id,
                "createdAt": iso(a.created_at),
                "updatedAt": iso(a.updated_at),
                "scopes": [x for x in (a.scope or "").replace(" ", ",").split(",") if x],
            }
            for a in rows
        ]
    )


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))
