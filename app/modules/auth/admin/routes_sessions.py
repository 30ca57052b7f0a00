"""Admin routes over sessions and impersonation (better-auth 1.7.25 admin plugin, reference §7).

Listed sessions carry their id as ``token`` (an opaque handle that ``revoke-user-session`` accepts):
tokens are stored hashed and a usable token of someone else's session is never handed out.

Impersonation (OWASP Session Management Cheat Sheet: separate, short-lived, attributable sessions):
the admin's session is kept aside in the signed ``admin_session`` cookie; the impersonation session
records ``impersonatedBy``, expires after ``AUTH__ADMIN__IMPERSONATION_SESSION_DURATION`` (1 h) and
never slides; admins cannot be impersonated without ``user:impersonate-admins``; an impersonation
cannot be nested.
"""

from __future__ import annotations

from flask import current_app, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.admin import schemas as s
from app.modules.auth.admin import service
from app.modules.auth.admin.access import has_permission, is_admin, options
from app.modules.auth.admin.routes_users import TAGS, authorize, forbidden
from app.modules.auth.cookies import (
    clear_session_cookies,
    delete_cookie,
    read_signed_cookie,
    set_session_cookie,
    set_signed_cookie,
)
from app.modules.auth.crypto import hash_token
from app.modules.auth.models import Session, utcnow
from app.modules.auth.routes.common import bp, client_ip, json_response, require_session, session_guard
from app.modules.auth.serializers import session_json, user_json
from app.modules.auth.sessions import create_session, resolve_token, revoke_by_hash, revoke_user_sessions

ADMIN_SESSION = "admin_session"
REVOKE = forbidden("YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS", "You are not allowed to revoke users sessions")
IMPERSONATE = forbidden("YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS", "You are not allowed to impersonate users")
# better-auth answers 500 here; nothing failed on our side, the caller is not impersonating: 400.
NO_ADMIN_SESSION = ApiError(400, "FAILED_TO_FIND_ADMIN_SESSION", "Failed to find admin session")


@bp.post("/admin/list-user-sessions", endpoint="admin_list_user_sessions")
@endpoint(summary="A user's live sessions (tokens replaced by opaque handles)", tags=TAGS, body=s.UserIdBody,
          response=s.SessionList, responses={403: "Not allowed to list sessions"})
@session_guard
def list_user_sessions(body: s.UserIdBody) -> ResponseReturnValue:
    authorize({"session": ["list"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_LIST_USERS_SESSIONS",
                                               "You are not allowed to list users sessions"))
    live = select(Session).where(Session.user_id == body.user_id, Session.expires_at > utcnow())
    rows = db.session.scalars(live.order_by(Session.created_at)).all()
    return json_response({"sessions": [session_json(row, row.id) for row in rows]})


@bp.post("/admin/revoke-user-session", endpoint="admin_revoke_user_session")
@endpoint(summary="End one session, by its handle (or token)", tags=TAGS, body=s.RevokeUserSessionBody,
          response=s.SuccessOut, responses={403: "Not allowed to revoke sessions"})
@session_guard
def revoke_user_session(body: s.RevokeUserSessionBody) -> ResponseReturnValue:
    _, actor = authorize({"session": ["revoke"]}, REVOKE)
    row = db.session.scalar(
        select(Session).where((Session.id == body.session_token) | (Session.token == hash_token(body.session_token)))
    )
    if row is not None:
        revoke_by_hash([row.token])
        db.session.commit()
        audit_logger.log_async(actor_id=actor.id, action="admin.session.revoke", resource_type="session",
                               resource_id=row.id, details={"user_id": row.user_id})
    return json_response({"success": True})


@bp.post("/admin/revoke-user-sessions", endpoint="admin_revoke_user_sessions")
@endpoint(summary="End every session of a user", tags=TAGS, body=s.UserIdBody, response=s.SuccessOut,
          responses={403: "Not allowed to revoke sessions"})
@session_guard
def revoke_user_sessions_route(body: s.UserIdBody) -> ResponseReturnValue:
    _, actor = authorize({"session": ["revoke"]}, REVOKE)
    count = revoke_user_sessions(body.user_id)
    db.session.commit()
    audit_logger.log_async(actor_id=actor.id, action="admin.session.revoke_all", resource_type="user",
                           resource_id=body.user_id, details={"count": count})
    return json_response({"success": True})


@bp.post("/admin/impersonate-user", endpoint="admin_impersonate_user")
@endpoint(summary="Act as another user for an hour; the admin session is kept aside", tags=TAGS,
          body=s.UserIdBody, response=s.SessionAndUserResponse,
          responses={403: "Not allowed, or the target is an admin", 404: "User not found"})
@session_guard
def impersonate_user(body: s.UserIdBody) -> ResponseReturnValue:
    resolved, actor = authorize({"user": ["impersonate"]}, IMPERSONATE)
    if resolved.session.get("impersonatedBy"):
        raise IMPERSONATE  # no impersonation from inside one: the kept admin session would be lost
    target = service.find_user(body.user_id)
    if is_admin(target.id, target.role) and not (
        options().allow_impersonating_admins or has_permission(actor.id, actor.role, {"user": ["impersonate-admins"]})
    ):
        raise ApiError(403, "YOU_CANNOT_IMPERSONATE_ADMINS", "You cannot impersonate admins")
    duration = options().impersonation_session_duration
    session, token = create_session(target, ip_address=client_ip(), user_agent=request.headers.get("User-Agent", ""),
                                    dont_remember=True, impersonated_by=actor.id, expires_in=duration)
    db.session.commit()
    audit_logger.log_async(actor_id=actor.id, action="admin.impersonate.start", resource_type="user",
                           resource_id=target.id, details={"session_id": session.id})
    response = json_response({"session": session_json(session, token), "user": user_json(target)})
    clear_session_cookies(response)
    kept = f"{resolved.token}:{'true' if resolved.dont_remember else ''}"
    set_signed_cookie(response, ADMIN_SESSION, kept, current_app.config["SETTINGS"].auth.session.expires_in)
    set_session_cookie(response, token, dont_remember=True)
    return response


@bp.post("/admin/stop-impersonating", endpoint="admin_stop_impersonating")
@endpoint(summary="End the impersonation and return to the admin session", tags=TAGS,
          response=s.SessionAndUserResponse, responses={400: "Not impersonating"})
@session_guard
def stop_impersonating() -> ResponseReturnValue:
    resolved = require_session()
    admin_id = resolved.session.get("impersonatedBy")
    if not admin_id:
        raise ApiError(400, "BAD_REQUEST", "You are not impersonating anyone")
    kept = read_signed_cookie(request, ADMIN_SESSION)
    if not kept or ":" not in kept:
        raise NO_ADMIN_SESSION
    admin_token, _, dont_remember = kept.rpartition(":")
    admin = resolve_token(admin_token)
    if admin is None or admin.user_id != admin_id:
        raise NO_ADMIN_SESSION
    revoke_by_hash([resolved.token_hash])
    db.session.commit()
    audit_logger.log_async(actor_id=admin_id, action="admin.impersonate.stop", resource_type="user",
                           resource_id=resolved.user_id)
    response = json_response({"session": admin.session_with_token(), "user": admin.user})
    set_session_cookie(response, admin.token, dont_remember=bool(dont_remember))
    delete_cookie(response, ADMIN_SESSION)
    return response


