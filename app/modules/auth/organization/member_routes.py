"""Members (better-auth ``routes/crud-members``) and ``has-permission``.

Role rules (OWASP ASVS V4.1.5, least privilege): only a holder of the creator role (owner) may grant
it or change an owner; an organization always keeps one owner (the only owner cannot leave, be
removed or demote themself). Every membership or role write clears the removed user's sessions'
active organization where it pointed there, and marks their cached sessions stale before commit.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.models import User
from app.modules.auth.organization import schemas as s
from app.modules.auth.organization.common import (
    TAGS,
    find_member_by_id,
    find_organization,
    org_error,
    target_organization_id,
)
from app.modules.auth.organization.models import Member
from app.modules.auth.organization.roles import CREATOR_ROLE, ROLE_NAMES
from app.modules.auth.organization.serializers import member_json
from app.modules.auth.organization.service import (
    clear_active_organization,
    find_member,
    forget_memberships,
    member_allows,
    memberships_changed,
    parse_role_list,
    require_member_permission,
)
from app.modules.auth.organization.settings import org_settings
from app.modules.auth.organization.team_service import leave_organization_teams
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard

_SORTABLE = {"createdAt": Member.created_at, "role": Member.role, "userId": Member.user_id, "id": Member.id}
_FILTERABLE = {"role": Member.role, "userId": Member.user_id, "id": Member.id}


def _owner_count(organization_id: str) -> int:
    roles = db.session.scalars(
        select(Member.role).where(Member.organization_id == organization_id, Member.role.contains(CREATOR_ROLE))
    )
    return sum(1 for role in roles if CREATOR_ROLE in parse_role_list(role))


def _resolve_org(resolved: Any, organization_id: str | None, slug: str | None) -> str:
    org_id = organization_id or resolved.session.get("activeOrganizationId")
    if slug:
        org = find_organization(slug=slug)
        if org is None:
            raise org_error(400, "ORGANIZATION_NOT_FOUND")
        org_id = org.id
    if not org_id:
        raise org_error(400, "NO_ACTIVE_ORGANIZATION")
    return str(org_id)


@bp.get("/organization/list-members")
@endpoint(summary="The organization's members with their users (paged)", tags=TAGS, query=s.ListMembersQuery,
          response=s.MembersOut, responses={403: "Not a member"})
@session_guard
def org_list_members(query: s.ListMembersQuery) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = _resolve_org(resolved, query.organization_id, query.organization_slug)
    if find_member(resolved.user_id, organization_id) is None:
        raise org_error(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
    where: list[Any] = [Member.organization_id == organization_id]
    if query.filter_field in _FILTERABLE and query.filter_value is not None:
        column = _FILTERABLE[query.filter_field]
        where.append(column != query.filter_value if query.filter_operator == "ne" else column == query.filter_value)
    order = _SORTABLE.get(query.sort_by or "", Member.created_at)
    rows = db.session.execute(
        select(Member, User).join(User, User.id == Member.user_id).where(*where)
        .order_by(order.desc() if query.sort_direction == "desc" else order.asc(), Member.id)
        .limit(query.limit or org_settings().membership_limit).offset(query.offset or 0)
    ).all()
    total = db.session.scalar(select(func.count()).select_from(Member).where(*where)) or 0
    return json_response({"members": [member_json(m, u) for m, u in rows], "total": total})


@bp.get("/organization/get-active-member")
@endpoint(summary="The caller's membership in the active organization", tags=TAGS, response=s.MemberOut,
          responses={400: "No active organization, or not a member"})
@session_guard
def org_get_active_member() -> ResponseReturnValue:
    resolved = require_session()
    organization_id = active_organization_id_or_fail(resolved)
    row = db.session.execute(
        select(Member, User).join(User, User.id == Member.user_id)
        .where(Member.organization_id == organization_id, Member.user_id == resolved.user_id)
    ).first()
    if row is None:
        raise org_error(400, "MEMBER_NOT_FOUND")
    return json_response(member_json(row[0], row[1]))


def active_organization_id_or_fail(resolved: Any) -> str:
    return target_organization_id(resolved, None, org_error(400, "NO_ACTIVE_ORGANIZATION"))


@bp.get("/organization/get-active-member-role")
@endpoint(summary="The caller's (or a fellow member's) role in the organization", tags=TAGS,
          query=s.ActiveMemberRoleQuery, response=s.RoleOut, responses={403: "Not a member"})
@session_guard
def org_get_active_member_role(query: s.ActiveMemberRoleQuery) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = _resolve_org(resolved, query.organization_id, query.organization_slug)
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise org_error(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
    if not query.user_id:
        return json_response({"role": me.role})
    other = find_member(query.user_id, organization_id)
    if other is None:
        raise org_error(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
    return json_response({"role": other.role})


@bp.post("/organization/update-member-role")
@endpoint(summary="Change a member's role (needs member:update; only an owner grants owner)", tags=TAGS,
          body=s.UpdateMemberRoleBody, response=s.MemberOut,
          responses={400: "Member or role not found", 403: "Not allowed"})
@session_guard
def org_update_member_role(body: s.UpdateMemberRoleBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(resolved, body.organization_id, org_error(400, "NO_ACTIVE_ORGANIZATION"))
    roles = parse_role_list(body.role)
    if not roles:
        raise ApiError(400, "BAD_REQUEST", "Bad Request")
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise org_error(400, "MEMBER_NOT_FOUND")
    target = me if me.id == body.member_id else find_member_by_id(body.member_id, organization_id)
    if target is None:  # unknown, or another organization's: one answer
        raise org_error(400, "MEMBER_NOT_FOUND")
    updater_is_owner = CREATOR_ROLE in parse_role_list(me.role)
    if (CREATOR_ROLE in parse_role_list(target.role) or CREATOR_ROLE in roles) and not updater_is_owner:
        raise org_error(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
    if updater_is_owner and me.id == target.id and CREATOR_ROLE not in roles and _owner_count(organization_id) <= 1:
        raise org_error(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")
    if not updater_is_owner:
        require_member_permission(me.role, {"member": ["update"]},
                                  org_error(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER"))
    unknown = [role for role in roles if role not in ROLE_NAMES]
    if unknown:
        raise ApiError(400, "ROLE_NOT_FOUND", f"ROLE_NOT_FOUND: {', '.join(unknown)}")
    previous = target.role
    target.role = ",".join(roles)
    db.session.commit()
    forget_memberships()
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.member_role", resource_type="member",
                           resource_id=target.id, organization_id=organization_id,
                           details={"from": previous, "to": target.role, "userId": target.user_id})
    return json_response(member_json(target))


def _remove(member: Member) -> dict[str, Any]:
    """Delete the membership and clear the user's sessions that had the organization active."""
    user = db.session.get(User, member.user_id)
    body = member_json(member, user)
    clear_active_organization(member.organization_id, member.user_id)
    leave_organization_teams(member.organization_id, member.user_id)
    memberships_changed(member.user_id)
    db.session.delete(member)
    db.session.commit()
    forget_memberships()
    return body


@bp.post("/organization/remove-member")
@endpoint(summary="Remove a member by id or email (needs member:delete)", tags=TAGS, body=s.RemoveMemberBody,
          response=s.MemberWrapped,
          responses={400: "Member not found, or the only owner", 401: "Not allowed"})
@session_guard
def org_remove_member(body: s.RemoveMemberBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(resolved, body.organization_id, org_error(400, "NO_ACTIVE_ORGANIZATION"))
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise org_error(400, "MEMBER_NOT_FOUND")
    target: Member | None
    if "@" in body.member_id_or_email:
        user = db.session.scalar(select(User).where(User.email == body.member_id_or_email.lower()))
        target = find_member(user.id, organization_id) if user is not None else None
    else:
        target = find_member_by_id(body.member_id_or_email, organization_id)
    if target is None:  # unknown, or another organization's: one answer
        raise org_error(400, "MEMBER_NOT_FOUND")
    if CREATOR_ROLE in parse_role_list(target.role):
        if CREATOR_ROLE not in parse_role_list(me.role) or _owner_count(organization_id) <= 1:
            raise org_error(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
    require_member_permission(me.role, {"member": ["delete"]},
                              org_error(401, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER"))
    removed = _remove(target)
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.member_remove", resource_type="member",
                           resource_id=removed["id"], organization_id=organization_id,
                           details={"userId": removed["userId"]})
    return json_response({"member": removed})


@bp.post("/organization/leave")
@endpoint(summary="Leave an organization (the only owner cannot)", tags=TAGS, body=s.OrganizationIdBody,
          response=s.MemberOut, responses={400: "Not a member, or the only owner"})
@session_guard
def org_leave_organization(body: s.OrganizationIdBody) -> ResponseReturnValue:
    resolved = require_session()
    me = find_member(resolved.user_id, body.organization_id)
    if me is None:
        raise org_error(400, "MEMBER_NOT_FOUND")
    if CREATOR_ROLE in parse_role_list(me.role) and _owner_count(body.organization_id) <= 1:
        raise org_error(400, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
    removed = _remove(me)
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.leave", resource_type="member",
                           resource_id=removed["id"], organization_id=body.organization_id)
    return json_response(removed)


@bp.post("/organization/has-permission")
@endpoint(summary="Whether the caller's role allows the given actions in the organization", tags=TAGS,
          body=s.HasPermissionBody, response=s.HasPermissionOut,
          responses={400: "No active organization", 401: "Not a member"})
@session_guard
def org_has_permission(body: s.HasPermissionBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(resolved, body.organization_id, org_error(400, "NO_ACTIVE_ORGANIZATION"))
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise org_error(401, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    return json_response({"error": None, "success": member_allows(me.role, body.requested())})
