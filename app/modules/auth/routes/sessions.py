"""Reading and revoking sessions (better-auth reference §1.3, §4).

Better than better-auth: ``list-sessions`` never hands out other sessions' tokens (theirs are
usable bearer credentials). Each other session's ``token`` is its id, an opaque handle that
``revoke-session`` accepts for the caller's own sessions, so the JS client's
``revokeSession({token})`` works unchanged.
"""

from __future__ import annotations

from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.core.identity import current
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth import schemas as s
from app.modules.auth.crypto import hash_token
from app.modules.auth.identity import raise_if_unavailable, rebind_session, resolve_identity
from app.modules.auth.models import Session, utcnow
from app.modules.auth.routes.common import (
    TAGS,
    bp,
    json_response,
    require_session,
    session_guard,
    with_session_cookie,
    without_session,
)
from app.modules.auth.serializers import session_json
from app.modules.auth.session_answer import session_response
from app.modules.auth.sessions import is_fresh, needs_refresh, refresh, revoke_by_hash, revoke_user_sessions
from app.modules.auth.state import auth_state


@bp.get("/get-session")
@endpoint(
    summary="The current session and user, or null",
    tags=TAGS,
    query=s.GetSessionQuery,
    response=s.SessionAndUser | None,
)
def get_session(query: s.GetSessionQuery) -> ResponseReturnValue:
    from flask import request

    from app.modules.auth.cookies import SESSION_TOKEN, read_signed_cookie

    resolved = resolve_identity()
    identity = current()
    if identity.error is not None:  # a credential was presented and refused (e.g. a revoked API key)
        raise identity.error
    raise_if_unavailable()  # the database is down: 503, and the cookie stays
    if resolved is None and identity.user is not None:
        # Identified by another credential (API key): its resolver built a session-shaped session.
        response = json_response({"session": identity.session, "user": identity.user.json})
    elif resolved is None:
        response = json_response(None)
        # A genuine session cookie that no longer resolves (revoked, expired) is cleared, as
        # better-auth does; one whose signature does not verify is none of ours to touch. A bearer
        # token stands for the cookie in better-auth (its plugin turns it into one): cleared too.
        bearer = request.headers.get("Authorization", "")[:7].lower() == "bearer "
        if bearer or read_signed_cookie(request, SESSION_TOKEN) is not None:
            without_session(response)
    else:
        refreshed = False
        if not query.disable_refresh and needs_refresh(resolved):
            resolved = refresh(resolved)
            db.session.commit()
            rebind_session(resolved)
            refreshed = True
        response = session_response(resolved)
        if refreshed and identity.credential == "cookie":
            with_session_cookie(response, resolved.token, dont_remember=resolved.dont_remember)
    for hook in auth_state().get_session_hooks:
        hook(response)  # e.g. the jwt plugin's set-auth-jwt header
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/list-sessions")
@endpoint(
    summary="The user's active sessions (other sessions' tokens are opaque handles)",
    tags=TAGS,
    response=list[s.SessionOut],
    responses={403: "Session not fresh"},
)
@session_guard
def list_sessions() -> ResponseReturnValue:
    resolved = require_session()
    if not is_fresh(resolved):
        raise ApiError(403, "SESSION_NOT_FRESH", "Session is not fresh")
    rows = db.session.scalars(
        select(Session)
        # Sessions an admin opened as this user are the admin's, not the user's (as better-auth).
        .where(Session.user_id == resolved.user_id, Session.expires_at > utcnow(), Session.impersonated_by.is_(None))
        .order_by(Session.created_at)
    ).all()
    body = [session_json(row, resolved.token if row.token == resolved.token_hash else row.id) for row in rows]
    return json_response(body)


@bp.post("/revoke-session")
@endpoint(
    summary="Revoke one of the user's sessions, by token or by the handle list-sessions gave",
    tags=TAGS,
    body=s.RevokeSessionBody,
    response=s.StatusResponse,
)
@session_guard
def revoke_session(body: s.RevokeSessionBody) -> ResponseReturnValue:
    resolved = require_session()
    row = db.session.scalar(
        select(Session).where(
            Session.user_id == resolved.user_id,
            (Session.token == hash_token(body.token)) | (Session.id == body.token),
        )
    )
    # Unknown tokens answer true too: nothing is revealed about sessions that are not the caller's.
    if row is not None:
        revoke_by_hash([row.token])
        db.session.commit()
        audit_logger.log_async(
            actor_id=resolved.user_id, action="session.revoke", resource_type="session", resource_id=row.id
        )
    response = json_response({"status": True})
    if row is not None and row.token == resolved.token_hash:
        without_session(response)
    return response


@bp.post("/revoke-sessions")
@endpoint(
    summary="Revoke every session of the user, this one included", tags=TAGS, response=s.StatusResponse
)
@session_guard
def revoke_sessions() -> ResponseReturnValue:
    resolved = require_session()
    revoke_user_sessions(resolved.user_id)
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id, action="session.revoke_all", resource_type="user", resource_id=resolved.user_id
    )
    return without_session(json_response({"status": True}))


@bp.post("/revoke-other-sessions")
@endpoint(summary="Revoke every session of the user but this one", tags=TAGS, response=s.StatusResponse)
@session_guard
def revoke_other_sessions() -> ResponseReturnValue:
    resolved = require_session()
    revoke_user_sessions(resolved.user_id, keep_hash=resolved.token_hash)
    db.session.commit()
    audit_logger.log_async(
        actor_id=resolved.user_id, action="session.revoke_others", resource_type="user", resource_id=resolved.user_id
    )
    return json_response({"status": True})
