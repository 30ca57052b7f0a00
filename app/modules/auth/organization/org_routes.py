"""Organization CRUD (better-auth ``routes/crud-org``): create, check-slug, update, delete, list,
get-organization, get-full-organization, set-active.

Better than better-auth: deleting an organization clears it as the active organization of every
session (theirs only the caller's), and ``metadata`` is an object in every response.
"""

from __future__ import annotations

import json

from flask.typing import ResponseReturnValue
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import User, utcnow
from app.modules.auth.organization import schemas as s
from app.modules.auth.organization.common import (
    TAGS,
    active_organization_id,
    find_organization,
    org_error,
    set_active_organization,
    target_organization_id,
    with_cookie,
)
from app.modules.auth.organization.invitation_routes import visible_invitations
from app.modules.auth.organization.models import Invitation, Member, Organization
from app.modules.auth.organization.roles import CREATOR_ROLE
from app.modules.auth.organization.serializers import invitation_json, member_json, organization_json, team_json
from app.modules.auth.organization.service import (
    clear_active_organization,
    find_member,
    forget_memberships,
    memberships_changed,
    require_member_permission,
)
from app.modules.auth.organization.settings import org_settings
from app.modules.auth.organization.team_service import (
    create_default_team,
    forget_organization_teams,
    list_teams,
    set_active_team,
    team_member_counts,
    teams_enabled,
)
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard
from app.modules.auth.schemas import StatusResponse


@bp.post("/organization/create")
@endpoint(summary="Create an organization; the caller becomes its owner", tags=TAGS,
          body=s.CreateOrganizationBody, response=s.CreatedOrganizationOut,
          responses={400: "Slug taken", 403: "Not allowed, or organization limit reached"})
@session_guard
def org_create_organization(body: s.CreateOrganizationBody) -> ResponseReturnValue:
    resolved = require_session()
    options = org_settings()
    if not options.allow_user_to_create_organization:
        raise org_error(403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_ORGANIZATION")
    if options.organization_limit is not None:
        count = db.session.scalar(select(func.count()).select_from(Member).where(Member.user_id == resolved.user_id))
        if (count or 0) >= options.organization_limit:
            raise org_error(403, "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_ORGANIZATIONS")
    if find_organization(slug=body.slug) is not None:
        raise org_error(400, "ORGANIZATION_ALREADY_EXISTS")
    now = utcnow()
    org = Organization(
        id=generate_id(32), name=body.name, slug=body.slug, logo=body.logo, created_at=now,
        metadata_json=json.dumps(body.metadata) if body.metadata else None,
    )
    member = Member(id=generate_id(32), organization_id=org.id, user_id=resolved.user_id, role=CREATOR_ROLE,
                    created_at=now)
    db.session.add(org)
    db.session.flush()
    db.session.add(member)
    db.session.flush()
    team_member = create_default_team(org, resolved.user_id)
    if not body.keep_current_active_organization:
        set_active_organization(resolved, org.id)
        if team_member is not None:
            set_active_team(resolved, team_member.team_id)
    memberships_changed(resolved.user_id)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent create took the slug
        db.session.rollback()
        raise org_error(400, "ORGANIZATION_ALREADY_EXISTS") from None
    forget_memberships()
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.create", resource_type="organization",
                           resource_id=org.id, organization_id=org.id, details={"slug": org.slug})
    response = json_response({**organization_json(org), "members": [member_json(member)]})
    return response if body.keep_current_active_organization else with_cookie(response, resolved)


@bp.post("/organization/check-slug")
@endpoint(summary="Whether a slug is still free", tags=TAGS, body=s.CheckSlugBody,
          response=StatusResponse,
          responses={400: "Slug taken"})
@session_guard
def org_check_slug(body: s.CheckSlugBody) -> ResponseReturnValue:
    require_session()
    if find_organization(slug=body.slug) is not None:
        raise org_error(400, "ORGANIZATION_SLUG_ALREADY_TAKEN")
    return json_response({"status": True})


@bp.post("/organization/update")
@endpoint(summary="Update an organization (needs organization:update)", tags=TAGS,
          body=s.UpdateOrganizationBody, response=s.OrganizationOut,
          responses={400: "Not a member, or slug taken", 403: "Role lacks organization:update"})
@session_guard
def org_update_organization(body: s.UpdateOrganizationBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = target_organization_id(resolved, body.organization_id, org_error(400, "ORGANIZATION_NOT_FOUND"))
    member = find_member(resolved.user_id, organization_id)
    if member is None:
        raise org_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    require_member_permission(member.role, {"organization": ["update"]},
                              org_error(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION"))
    org = find_organization(organization_id)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    data = body.data
    given = data.model_fields_set
    if "slug" in given and data.slug is not None:
        other = find_organization(slug=data.slug)
        if other is not None and other.id != org.id:
            raise org_error(400, "ORGANIZATION_SLUG_ALREADY_TAKEN")
        org.slug = data.slug
    if "name" in given and data.name is not None:
        org.name = data.name
    if "logo" in given:
        org.logo = data.logo
    if "metadata" in given:
        org.metadata_json = json.dumps(data.metadata) if data.metadata is not None else None
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise org_error(400, "ORGANIZATION_SLUG_ALREADY_TAKEN") from None
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.update", resource_type="organization",
                           resource_id=org.id, organization_id=org.id, details={"fields": sorted(given)})
    return json_response(organization_json(org))


@bp.post("/organization/delete")
@endpoint(summary="Delete an organization (needs organization:delete)", tags=TAGS,
          body=s.OrganizationIdBody, response=s.OrganizationOut,
          responses={400: "Not a member", 403: "Role lacks organization:delete"})
@session_guard
def org_delete_organization(body: s.OrganizationIdBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = body.organization_id
    member = find_member(resolved.user_id, organization_id)
    if member is None:
        raise org_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    require_member_permission(member.role, {"organization": ["delete"]},
                              org_error(403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION"))
    org = find_organization(organization_id)
    if org is None:
        raise ApiError(400, "BAD_REQUEST", "Bad Request")
    body_out = organization_json(org)
    clear_active_organization(organization_id)
    memberships_changed(organization_id=organization_id)
    forget_organization_teams(organization_id)
    db.session.execute(delete(Invitation).where(Invitation.organization_id == organization_id))
    db.session.execute(delete(Member).where(Member.organization_id == organization_id))
    db.session.delete(org)
    db.session.commit()
    forget_memberships()
    audit_logger.log_async(actor_id=resolved.user_id, action="organization.delete", resource_type="organization",
                           resource_id=organization_id, organization_id=organization_id)
    return json_response(body_out)


@bp.get("/organization/list")
@endpoint(summary="The organizations the caller belongs to", tags=TAGS, response=list[s.OrganizationOut])
@session_guard
def org_list_organizations() -> ResponseReturnValue:
    resolved = require_session()
    rows = db.session.scalars(
        select(Organization).join(Member, Member.organization_id == Organization.id)
        .where(Member.user_id == resolved.user_id).order_by(Member.created_at, Organization.id)
    ).all()
    return json_response([organization_json(org) for org in rows])


@bp.get("/organization/get-full-organization")
@endpoint(summary="An organization with its members and (for inviters) pending invitations", tags=TAGS,
          query=s.FullOrganizationQuery, response=s.FullOrganizationOut | None,
          responses={400: "Organization not found", 403: "Not a member"})
@session_guard
def org_get_full_organization(query: s.FullOrganizationQuery) -> ResponseReturnValue:
    resolved = require_session()
    wanted = query.organization_slug or query.organization_id or active_organization_id(resolved)
    if not wanted:
        return json_response(None)
    org = find_organization(slug=wanted) if query.organization_slug else find_organization(wanted)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    me = find_member(resolved.user_id, org.id)
    if me is None:
        set_active_organization(resolved, None)
        db.session.commit()
        raise org_error(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    limit = query.members_limit or org_settings().membership_limit
    rows = db.session.execute(
        select(Member, User).join(User, User.id == Member.user_id)
        .where(Member.organization_id == org.id).order_by(Member.created_at, Member.id).limit(limit)
    ).all()
    invitations = visible_invitations(me.role, org.id)
    full = {
        **organization_json(org),
        "members": [member_json(m, u) for m, u in rows],
        "invitations": [invitation_json(i) for i in invitations],
    }
    if teams_enabled():
        counts = team_member_counts(org.id)  # better-auth's full organization shows its memberCount
        full["teams"] = [{**team_json(team), "memberCount": counts.get(team.id, 0)} for team in list_teams(org.id)]
    return json_response(full)


@bp.get("/organization/get-organization")
@endpoint(summary="An organization (by id, slug, or the active one), without members or invitations", tags=TAGS,
          query=s.OrganizationQuery, response=s.OrganizationOut | None,
          responses={400: "Organization not found", 403: "Not a member"})
@session_guard
def org_get_organization(query: s.OrganizationQuery) -> ResponseReturnValue:
    resolved = require_session()
    wanted = query.organization_slug or query.organization_id or active_organization_id(resolved)
    if not wanted:
        return json_response(None)
    org = find_organization(slug=wanted) if query.organization_slug else find_organization(wanted)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    if find_member(resolved.user_id, org.id) is None:
        set_active_organization(resolved, None)  # as better-auth: a stale active organization is dropped
        db.session.commit()
        raise org_error(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    return json_response(organization_json(org))


@bp.post("/organization/set-active")
@endpoint(summary="Choose the session's active organization (null to unset); re-sets the session cookie",
          tags=TAGS, body=s.SetActiveBody, response=s.OrganizationOut | None,
          responses={400: "Organization not found", 403: "Not a member"})
@session_guard
def org_set_active(body: s.SetActiveBody) -> ResponseReturnValue:
    resolved = require_session()
    current = active_organization_id(resolved)
    if "organization_id" in body.model_fields_set and body.organization_id is None and not body.organization_slug:
        if not current:
            return json_response(None)
        set_active_organization(resolved, None)
        db.session.commit()
        return with_cookie(json_response(None), resolved)
    organization_id = body.organization_id
    if not organization_id and not body.organization_slug:
        if not current:
            return json_response(None)
        organization_id = current
    if body.organization_slug and not organization_id:
        found = find_organization(slug=body.organization_slug)
        if found is None:
            raise org_error(400, "ORGANIZATION_NOT_FOUND")
        organization_id = found.id
    assert organization_id is not None
    if find_member(resolved.user_id, organization_id) is None:
        set_active_organization(resolved, None)
        db.session.commit()
        raise org_error(403, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    org = find_organization(organization_id)
    if org is None:
        raise org_error(400, "ORGANIZATION_NOT_FOUND")
    set_active_organization(resolved, org.id)
    db.session.commit()
    return with_cookie(json_response(organization_json(org)), resolved)
