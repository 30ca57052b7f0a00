"""User administration shared by the admin routes and the ``flask auth users`` CLI.

Every write that changes what a session would answer invalidates the user's cached sessions before
commit (``sessions.invalidate_user``), so a ban or a role change is seen by the next request in
every process. Privilege changes follow OWASP Session Management Cheat Sheet ("Renew the Session
ID After Any Privilege Level Change"): a promoted user's sessions are ended (a fresh one comes with
the next sign-in), a demoted user's impersonation sessions die. A ban ends every session at once.
The caller commits.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import event, select

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.admin.access import grants, options, role_exists
from app.modules.auth.credentials import store_password_hash
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import Account, Session, User, utcnow
from app.modules.auth.passwords import PasswordHasher, check_password_length
from app.modules.auth.sessions import invalidate_user, revoke_by_hash, revoke_user_sessions
from app.modules.auth.single_use import forget_reset_tokens
from app.modules.auth.state import auth_state

USER_NOT_FOUND = ApiError(404, "USER_NOT_FOUND", "User not found")
USER_EXISTS = ApiError(400, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.")
NON_EXISTENT_ROLE = ApiError(400, "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE",
                             "You are not allowed to set a non-existent role value")
INVALID_ROLE_TYPE = ApiError(400, "INVALID_ROLE_TYPE", "Invalid role type")


def _hasher() -> PasswordHasher:
    found: PasswordHasher = auth_state().hasher
    return found


def find_user(user_id: str) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise USER_NOT_FOUND
    return user


def find_user_by_email(email: str) -> User:
    user: User | None = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise USER_NOT_FOUND
    return user


def role_value(role: object) -> str:
    """A role or list of roles as stored (``"a,b"``); every one must be a role that exists."""
    roles = role if isinstance(role, list) else [role]
    for name in roles:
        if not isinstance(name, str):
            raise INVALID_ROLE_TYPE
        if not role_exists(name.strip()):
            raise NON_EXISTENT_ROLE
    if not roles:
        raise NON_EXISTENT_ROLE
    return ",".join(str(name).strip() for name in roles)


def _end_impersonations_by(user_id: str) -> None:
    revoke_by_hash(list(db.session.scalars(select(Session.token).where(Session.impersonated_by == user_id))))


def apply_role(user: User, role: str) -> None:
    """Set the (validated) role; sessions follow the privilege change at once."""
    old = user.role
    if old == role:
        return
    gained = grants(role) - grants(old)
    lost = grants(old) - grants(role)
    user.role = role
    user.updated_at = utcnow()
    invalidate_user(user.id)
    if gained:
        revoke_user_sessions(user.id)
    if lost:
        _end_impersonations_by(user.id)


def check_password_policy(password: str) -> None:
    auth = current_app.config["SETTINGS"].auth
    check_password_length(password, auth.min_password_length, auth.max_password_length)


def create_user(*, email: str, name: str, password: str | None, role: str | None, **fields: object) -> User:
    """A new user (and credential account when a password is given), added to the db session."""
    email = email.strip().lower()
    if password is not None:
        check_password_policy(password)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise USER_EXISTS
    now = utcnow()
    user = User(id=generate_id(), name=name, email=email, email_verified=False, role=role or options().default_role,
                banned=False, created_at=now, updated_at=now)
    for field, value in fields.items():
        setattr(user, field, value)
    db.session.add(user)
    if password is not None:
        db.session.add(Account(id=generate_id(), account_id=user.id, provider_id="credential", user_id=user.id,
                               password=_hasher().hash(password), created_at=now, updated_at=now))
    return user


def ban(user: User, *, reason: str | None, expires_in: int | None) -> None:
    """Ban the user; their sessions (and impersonations they run) end now, in every process."""
    opts = options()
    expires_in = expires_in or opts.default_ban_expires_in
    user.banned = True
    user.ban_reason = reason or opts.default_ban_reason or "No reason"
    user.ban_expires = utcnow() + timedelta(seconds=expires_in) if expires_in else None
    user.updated_at = utcnow()
    revoke_user_sessions(user.id)  # impersonations they run included


def unban(user: User) -> None:
    user.banned = False
    user.ban_reason = None
    user.ban_expires = None
    user.updated_at = utcnow()
    invalidate_user(user.id)


def set_password(user: User, password: str, *, keep_session_hash: str | None = None) -> None:
    """A new password; the user's sessions end (but the caller's own, when it is theirs)."""
    check_password_policy(password)
    store_password_hash(user.id, _hasher().hash(password))
    revoke_user_sessions(user.id, keep_hash=keep_session_hash)
    forget_reset_tokens(user.id)
    lockout = auth_state().lockout
    if lockout is not None:  # once the caller commits (SQLite: one writer; the counters may be there)
        email = user.email
        event.listen(db.session(), "after_commit", lambda _session: lockout.reset(email), once=True)


def remove_user(user: User) -> None:
    revoke_user_sessions(user.id)  # impersonations they run included
    db.session.delete(user)
