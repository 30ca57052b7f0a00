"""Admin routes over users: ``/admin/*`` as better-auth 1.7.25's admin plugin (reference §7).

Every route asks the caller's role (read from the database, never a stale cache) through the typed
statements of ``access.py`` and refuses with better-auth's ``YOU_ARE_NOT_ALLOWED_TO_*`` codes
(OWASP ASVS V4.1: deny by default, enforced server-side on every request).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask.typing import ResponseReturnValue
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.admin import schemas as s
from app.modules.auth.admin import service
from app.modules.auth.admin.access import has_permission
from app.modules.auth.admin.user_data import BAN_FIELDS, COLUMNS, EMAIL_FIELDS, coerce, condition
from app.modules.auth.models import User, utcnow
from app.modules.auth.routes.common import bp, current_user_row, json_response, require_session, session_guard
from app.modules.auth.schemas import Email, UserOut
from app.modules.auth.serializers import user_json
from app.modules.auth.sessions import ResolvedSession, invalidate_user, revoke_user_sessions

TAGS = ["Admin"]
MAX_PAGE = 1000


def forbidden(code: str, message: str) -> ApiError:
    return ApiError(403, code, message)


CHANGE_ROLE = forbidden("YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE", "You are not allowed to change users role")
BAN_USERS = forbidden("YOU_ARE_NOT_ALLOWED_TO_BAN_USERS", "You are not allowed to ban users")
SET_EMAIL = forbidden("YOU_ARE_NOT_ALLOWED_TO_SET_USERS_EMAIL", "You are not allowed to update users email")
CANNOT_BAN_YOURSELF = ApiError(400, "YOU_CANNOT_BAN_YOURSELF", "You cannot ban yourself")
INVALID_EMAIL = ApiError(400, "INVALID_EMAIL", "Invalid email")
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)


def authorize(permissions: Mapping[str, Sequence[str]], refusal: ApiError) -> tuple[ResolvedSession, User]:
    """The caller's session and user row when their role allows ``permissions``; else 401/403."""
    resolved = require_session()
    actor = current_user_row(resolved)
    if not has_permission(actor.id, actor.role, permissions):
        raise refusal
    return resolved, actor


def allowed(actor: User, permissions: Mapping[str, Sequence[str]]) -> bool:
    return has_permission(actor.id, actor.role, permissions)


def _email(value: object) -> str:
    try:
        return _EMAIL.validate_python(str(value))
    except ValidationError:
        raise INVALID_EMAIL from None


def _audit(actor: User, action: str, target: str, **details: object) -> None:
    audit_logger.log_async(actor_id=actor.id, action=action, resource_type="user", resource_id=target,
                           details=details or None)


@bp.post("/admin/create-user", endpoint="admin_create_user")
@endpoint(summary="Create a user (with a password, role and fields)", tags=TAGS, body=s.CreateUserBody,
          response=s.UserResponse, responses={400: "Invalid email, role or field; user exists",
                                              403: "Not allowed to create users"})
@session_guard
def create_user(body: s.CreateUserBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["create"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
                                                         "You are not allowed to create users"))
    data = dict(body.data or {})
    requested_role = body.role if body.role is not None else data.pop("role", None)
    data.pop("role", None)
    role = None
    if requested_role is not None:
        if not allowed(actor, {"user": ["set-role"]}):
            raise CHANGE_ROLE
        role = service.role_value(requested_role)
    if BAN_FIELDS.intersection(data) and not allowed(actor, {"user": ["ban"]}):
        raise BAN_USERS
    for key in ("email", "name"):
        data.pop(key, None)
    fields = {}
    for key, value in data.items():
        fields[COLUMNS[key].key if key in COLUMNS else key] = coerce(key, value)
    user = service.create_user(email=_email(body.email), name=body.name, password=body.password, role=role,
                               **fields)
    db.session.commit()
    _audit(actor, "admin.user.create", user.id, role=user.role)
    return json_response({"user": user_json(user)})


@bp.get("/admin/list-users", endpoint="admin_list_users")
@endpoint(summary="List users: search, filter, sort, paginate", tags=TAGS, query=s.ListUsersQuery,
          response=s.UserList, responses={403: "Not allowed to list users"})
@session_guard
def list_users(query: s.ListUsersQuery) -> ResponseReturnValue:
    authorize({"user": ["list"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_LIST_USERS", "You are not allowed to list users"))
    conditions = []
    if query.search_value:
        conditions.append(condition(COLUMNS[query.search_field or "email"], query.search_operator or "contains",
                                    query.search_value))
    if query.filter_value is not None:
        field = query.filter_field or "email"
        if field not in COLUMNS:
            raise ApiError(400, "VALIDATION_ERROR", f"[query.filterField] Unknown field: {field}")
        conditions.append(condition(COLUMNS[field], query.filter_operator or "eq", query.filter_value))
    statement = select(User).where(*conditions)
    if query.sort_by:
        if query.sort_by not in COLUMNS:
            raise ApiError(400, "VALIDATION_ERROR", f"[query.sortBy] Unknown field: {query.sort_by}")
        column = COLUMNS[query.sort_by]
        statement = statement.order_by(column.desc() if query.sort_direction == "desc" else column.asc(), User.id)
    else:
        statement = statement.order_by(User.created_at, User.id)
    users = db.session.scalars(statement.limit(query.limit or MAX_PAGE).offset(query.offset or 0)).all()
    total = db.session.scalar(select(func.count()).select_from(User).where(*conditions))
    body: dict[str, object] = {"users": [user_json(u) for u in users], "total": total}
    if query.limit:
        body["limit"] = query.limit
    if query.offset:
        body["offset"] = query.offset
    return json_response(body)


@bp.get("/admin/get-user", endpoint="admin_get_user")
@endpoint(summary="One user (a bare user object, as better-auth)", tags=TAGS, query=s.GetUserQuery,
          response=UserOut, responses={403: "Not allowed to get users", 404: "User not found"})
@session_guard
def get_user(query: s.GetUserQuery) -> ResponseReturnValue:
    authorize({"user": ["get"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_GET_USER", "You are not allowed to get user"))
    return json_response(user_json(service.find_user(query.id)))


@bp.post("/admin/update-user", endpoint="admin_update_user")
@endpoint(summary="Update a user's fields (a bare user object, as better-auth)", tags=TAGS, body=s.UpdateUserBody,
          response=UserOut, responses={400: "No data, a field that cannot be set, or an invalid value",
                                       403: "Not allowed", 404: "User not found"})
@session_guard
def update_user(body: s.UpdateUserBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["update"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_UPDATE_USERS",
                                                         "You are not allowed to update users"))
    data = dict(body.data)
    if not data:
        raise ApiError(400, "NO_DATA_TO_UPDATE", "No data to update")
    if "password" in data:
        raise ApiError(400, "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER",
                       "Password cannot be updated through update-user. Use the set-user-password endpoint instead")
    if "id" in data:
        raise ApiError(400, "USER_ID_CANNOT_BE_UPDATED", "User id cannot be updated")
    role = None
    if "role" in data:
        if not allowed(actor, {"user": ["set-role"]}):
            raise CHANGE_ROLE
        role = service.role_value(data.pop("role"))
    if BAN_FIELDS.intersection(data):
        if not allowed(actor, {"user": ["ban"]}):
            raise BAN_USERS
        if data.get("banned") is True and body.user_id == actor.id:
            raise CANNOT_BAN_YOURSELF
    if EMAIL_FIELDS.intersection(data) and not allowed(actor, {"user": ["set-email"]}):
        raise SET_EMAIL
    changes = {key: coerce(key, value) for key, value in data.items()}
    if "email" in changes:
        changes["email"] = _email(changes["email"])
        other = db.session.scalar(select(User.id).where(User.email == changes["email"]))
        if other is not None and other != body.user_id:
            raise service.USER_EXISTS
    user = service.find_user(body.user_id)
    for key, value in changes.items():
        setattr(user, COLUMNS[key].key, value)
    user.updated_at = utcnow()
    invalidate_user(user.id)
    if role is not None:
        service.apply_role(user, role)
    if changes.get("banned") is True:
        revoke_user_sessions(user.id)
    db.session.commit()
    _audit(actor, "admin.user.update", user.id, fields=sorted(changes) + (["role"] if role else []))
    return json_response(user_json(user))


@bp.post("/admin/set-role", endpoint="admin_set_role")
@endpoint(summary="Set a user's role(s); only roles that exist", tags=TAGS, body=s.SetRoleBody,
          response=s.UserResponse, responses={400: "Role does not exist", 403: "Not allowed to change roles",
                                              404: "User not found"})
@session_guard
def set_role(body: s.SetRoleBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["set-role"]}, CHANGE_ROLE)
    role = service.role_value(body.role)
    user = service.find_user(body.user_id)
    old = user.role
    service.apply_role(user, role)
    db.session.commit()
    _audit(actor, "admin.user.set_role", user.id, old=old, new=role)
    return json_response({"user": user_json(user)})


@bp.post("/admin/ban-user", endpoint="admin_ban_user")
@endpoint(summary="Ban a user: their sessions end at once", tags=TAGS, body=s.BanUserBody,
          response=s.UserResponse, responses={400: "You cannot ban yourself", 403: "Not allowed to ban users",
                                              404: "User not found"})
@session_guard
def ban_user(body: s.BanUserBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["ban"]}, BAN_USERS)
    user = service.find_user(body.user_id)
    if user.id == actor.id:
        raise CANNOT_BAN_YOURSELF
    service.ban(user, reason=body.ban_reason, expires_in=body.ban_expires_in)
    db.session.commit()
    _audit(actor, "admin.user.ban", user.id, expires_in=body.ban_expires_in)
    return json_response({"user": user_json(user)})


@bp.post("/admin/unban-user", endpoint="admin_unban_user")
@endpoint(summary="Lift a user's ban", tags=TAGS, body=s.UserIdBody, response=s.UserResponse,
          responses={403: "Not allowed to ban users", 404: "User not found"})
@session_guard
def unban_user(body: s.UserIdBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["ban"]}, BAN_USERS)
    user = service.find_user(body.user_id)
    service.unban(user)
    db.session.commit()
    _audit(actor, "admin.user.unban", user.id)
    return json_response({"user": user_json(user)})


@bp.post("/admin/set-user-password", endpoint="admin_set_user_password")
@endpoint(summary="Set a user's password; their sessions end", tags=TAGS, body=s.SetUserPasswordBody,
          response=s.StatusOut, responses={400: "Password policy", 403: "Not allowed", 404: "User not found"})
@session_guard
def set_user_password(body: s.SetUserPasswordBody) -> ResponseReturnValue:
    resolved, actor = authorize({"user": ["set-password"]}, forbidden(
        "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD", "You are not allowed to set users password"))
    service.check_password_policy(body.new_password)
    user = service.find_user(body.user_id)
    service.set_password(user, body.new_password, keep_session_hash=resolved.token_hash)
    db.session.commit()
    _audit(actor, "admin.user.set_password", user.id)
    return json_response({"status": True})


@bp.post("/admin/remove-user", endpoint="admin_remove_user")
@endpoint(summary="Delete a user and their sessions", tags=TAGS, body=s.UserIdBody, response=s.SuccessOut,
          responses={400: "You cannot remove yourself", 403: "Not allowed", 404: "User not found"})
@session_guard
def remove_user(body: s.UserIdBody) -> ResponseReturnValue:
    _, actor = authorize({"user": ["delete"]}, forbidden("YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS",
                                                         "You are not allowed to delete users"))
    if body.user_id == actor.id:
        raise ApiError(400, "YOU_CANNOT_REMOVE_YOURSELF", "You cannot remove yourself")
    user = service.find_user(body.user_id)
    service.remove_user(user)
    db.session.commit()
    _audit(actor, "admin.user.remove", body.user_id)
    return json_response({"success": True})


@bp.post("/admin/has-permission", endpoint="admin_has_permission")
@endpoint(summary="Whether the signed-in user's role allows the given permissions", tags=TAGS,
          body=s.HasPermissionBody, response=s.PermissionResult, responses={400: "No permissions given"})
@session_guard
def user_has_permission(body: s.HasPermissionBody) -> ResponseReturnValue:
    permissions = body.permissions if body.permissions is not None else body.permission
    if permissions is None:  # the schema lets exactly one through; kept for direct callers
        raise ApiError(400, "BAD_REQUEST", "invalid permission check. no permission(s) were passed.")
    resolved = require_session()
    actor = current_user_row(resolved)  # as better-auth: the session's user, whatever userId/role say
    return json_response({"error": None, "success": has_permission(actor.id, actor.role, permissions)})
