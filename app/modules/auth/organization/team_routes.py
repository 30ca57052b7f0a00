"""Teams (better-auth ``routes/crud-team``): create, list, update, remove, set-active, list-user-teams,
list-team-members, add- and remove-team-member. 404 unless ``AUTH__ORGANIZATION__TEAMS__ENABLED``,
as better-auth without ``teams.enabled``.

Better than better-auth: a team of an organization the caller is not in answers as an unknown one
(list-team-members: better-auth says "not a member of the team", telling that it exists), a removed
team or team membership is no longer any session's active team, and a team name is never empty.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.core.api import endpoint
from app.core.errors import ApiError
from app.extensions import db
from app.modules import audit_logger
from app.modules.auth.identity import resolve_identity
from app.modules.auth.models import utcnow
from app.modules.auth.organization import team_schemas as s
from app.modules.auth.organization.common import TAGS, active_organization_id, find_organization, with_cookie
from app.modules.auth.organization.models import Member, Team, TeamMember
from app.modules.auth.organization.serializers import team_json, team_member_json
from app.modules.auth.organization.service import find_member, member_allows
from app.modules.auth.organization.team_service import (
    add_team_member,
    clear_active_team,
    count_teams,
    create_team,
    delete_team,
    find_team,
    find_team_member,
    list_teams,
    set_active_team,
    team_error,
    team_options,
    teams_enabled,
)
from app.modules.auth.routes.common import bp, json_response, require_session, session_guard
from app.modules.auth.sessions import ResolvedSession

F = TypeVar("F", bound=Callable[..., Any])
NOT_FOUND = ApiError(404, "NOT_FOUND", "Not Found")
TEAM_TAGS = [*TAGS, "Teams"]


def teams_only(view: F) -> F:
    """404 before anything else (the body included) while teams are off."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not teams_enabled():
            raise NOT_FOUND
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _acting_organization(resolved: ResolvedSession, given: str | None) -> str:
    organization_id = given or active_organization_id(resolved)
    if not organization_id:
        raise team_error(400, "NO_ACTIVE_ORGANIZATION")
    return organization_id


def _audit(resolved: ResolvedSession, action: str, team_id: str, organization_id: str, **details: Any) -> None:
    audit_logger.log_async(actor_id=resolved.user_id, action=action, resource_type="team", resource_id=team_id,
                           organization_id=organization_id, details=details or None)


@bp.post("/organization/create-team")
@teams_only
@endpoint(summary="Create a team in the organization (needs team:create)", tags=TEAM_TAGS,
          body=s.CreateTeamBody, response=s.TeamOut,
          responses={400: "No active organization, or maximum number of teams", 403: "Not a member, or not allowed"})
@session_guard
def org_create_team(body: s.CreateTeamBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = _acting_organization(resolved, body.organization_id)
    member = find_member(resolved.user_id, organization_id)
    if member is None:  # better-auth's code for it
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION")
    if not member_allows(member.role, {"team": ["create"]}):
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION")
    maximum = team_options().maximum_teams
    if maximum is not None and count_teams(organization_id) >= maximum:
        raise team_error(400, "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS")
    if find_organization(organization_id) is None:
        raise team_error(400, "ORGANIZATION_NOT_FOUND")
    team = create_team(organization_id, body.name)
    db.session.commit()
    _audit(resolved, "organization.team_create", team.id, organization_id, name=team.name)
    return json_response(team_json(team))


@bp.get("/organization/list-teams")
@teams_only
@endpoint(summary="The teams of an organization the caller belongs to", tags=TEAM_TAGS,
          query=s.ListTeamsQuery, response=list[s.TeamOut],
          responses={400: "No active organization", 403: "Not a member"})
@session_guard
def org_list_teams(query: s.ListTeamsQuery) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = _acting_organization(resolved, query.organization_id)
    if find_member(resolved.user_id, organization_id) is None:
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION")
    return json_response([team_json(team) for team in list_teams(organization_id)])


@bp.post("/organization/update-team")
@teams_only
@endpoint(summary="Rename a team (needs team:update)", tags=TEAM_TAGS, body=s.UpdateTeamBody,
          response=s.TeamOut,
          responses={400: "No active organization, or team not found", 403: "Not a member, or not allowed"})
@session_guard
def org_update_team(body: s.UpdateTeamBody) -> ResponseReturnValue:
    resolved = require_session()
    organization_id = _acting_organization(resolved, body.data.organization_id)
    member = find_member(resolved.user_id, organization_id)
    if member is None or not member_allows(member.role, {"team": ["update"]}):
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM")
    team = find_team(body.team_id, organization_id)
    if team is None:
        raise team_error(400, "TEAM_NOT_FOUND")
    if body.data.name is not None:
        team.name = body.data.name
    team.updated_at = utcnow()
    db.session.commit()
    _audit(resolved, "organization.team_update", team.id, organization_id, name=team.name)
    return json_response(team_json(team))


@bp.post("/organization/remove-team")
@teams_only
@endpoint(summary="Remove a team and its memberships (needs team:delete)", tags=TEAM_TAGS, body=s.TeamIdBody,
          response=s.MessageOut,
          responses={400: "Team not found, or the organization's last team", 403: "Not allowed"})
@session_guard
def org_remove_team(body: s.TeamIdBody) -> ResponseReturnValue:
    optional = resolve_identity()
    given = body.organization_id or (active_organization_id(optional) if optional is not None else None)
    if not given:  # better-auth asks for the organization before the session
        raise team_error(400, "NO_ACTIVE_ORGANIZATION")
    resolved = require_session()
    member = find_member(resolved.user_id, given)
    if member is None or resolved.session.get("activeTeamId") == body.team_id:
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM")
    if not member_allows(member.role, {"team": ["delete"]}):
        raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION")
    team = find_team(body.team_id, given)
    if team is None:
        raise team_error(400, "TEAM_NOT_FOUND")
    if not team_options().allow_removing_all_teams and count_teams(given) <= 1:
        raise team_error(400, "UNABLE_TO_REMOVE_LAST_TEAM")
    delete_team(team)
    db.session.commit()
    _audit(resolved, "organization.team_delete", body.team_id, given)
    return json_response({"message": "Team removed successfully."})


@bp.post("/organization/set-active-team")
@teams_only
@endpoint(summary="Choose the session's active team in the active organization (null to unset)",
          tags=TEAM_TAGS, body=s.SetActiveTeamBody, response=s.TeamOut | None,
          responses={400: "No active organization, or team not found", 403: "Not in the team"})
@session_guard
def org_set_active_team(body: s.SetActiveTeamBody) -> ResponseReturnValue:
    resolved = require_session()
    current = resolved.session.get("activeTeamId")
    if "team_id" in body.model_fields_set and body.team_id is None:
        if not current:
            return json_response(None)
        set_active_team(resolved, None)
        db.session.commit()
        return with_cookie(json_response(None), resolved)
    team_id = body.team_id or current
    if not team_id:
        return json_response(None)
    organization_id = active_organization_id(resolved)
    if not organization_id:
        raise team_error(400, "NO_ACTIVE_ORGANIZATION")
    team = find_team(team_id, organization_id)
    if team is None:
        raise team_error(400, "TEAM_NOT_FOUND")
    if find_team_member(team.id, resolved.user_id) is None:
        raise team_error(403, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")
    set_active_team(resolved, team.id)
    db.session.commit()
    return with_cookie(json_response(team_json(team)), resolved)


def _teams_of(user_id: str, organization_id: str | None = None) -> list[Team]:
    """The user's teams in organizations they still belong to (one organization, or all)."""
    stmt = (
        select(Team)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .join(Member, (Member.organization_id == Team.organization_id) & (Member.user_id == TeamMember.user_id))
        .where(TeamMember.user_id == user_id)
        .order_by(TeamMember.created_at, Team.id)
    )
    if organization_id is not None:
        stmt = stmt.where(Team.organization_id == organization_id)
    return list(db.session.scalars(stmt))


@bp.get("/organization/list-user-teams")
@teams_only
@endpoint(summary="The caller's teams (every organization, or one); another member's with member:update",
          tags=TEAM_TAGS, query=s.ListUserTeamsQuery, response=list[s.TeamOut],
          responses={400: "No active organization, or not a member", 403: "Not a member, or not allowed"})
@session_guard
def org_list_user_teams(query: s.ListUserTeamsQuery) -> ResponseReturnValue:
    resolved = require_session()
    target = query.user_id or resolved.user_id
    organization_id = query.organization_id or active_organization_id(resolved)
    if target != resolved.user_id:
        if not organization_id:
            raise team_error(400, "NO_ACTIVE_ORGANIZATION")
        me = find_member(resolved.user_id, organization_id)
        if me is None:
            raise team_error(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
        if not member_allows(me.role, {"member": ["update"]}):
            raise team_error(403, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
        if find_member(target, organization_id) is None:
            raise team_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
        return json_response([team_json(t) for t in _teams_of(target, organization_id)])
    if query.organization_id:
        if find_member(resolved.user_id, query.organization_id) is None:
            raise team_error(403, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
        return json_response([team_json(t) for t in _teams_of(target, query.organization_id)])
    return json_response([team_json(t) for t in _teams_of(target)])


@bp.get("/organization/list-team-members")
@teams_only
@endpoint(summary="The members of a team the caller is in (default: the active team)", tags=TEAM_TAGS,
          query=s.ListTeamMembersQuery, response=list[s.TeamMemberOut],
          responses={400: "No active team, team not found, or not in the team"})
@session_guard
def org_list_team_members(query: s.ListTeamMembersQuery) -> ResponseReturnValue:
    resolved = require_session()
    team_id = query.team_id or resolved.session.get("activeTeamId")
    if not team_id:
        raise team_error(400, "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM")
    team = find_team(team_id)
    if team is None or find_member(resolved.user_id, team.organization_id) is None:
        raise team_error(400, "TEAM_NOT_FOUND")  # another organization's team: as an unknown one
    if find_team_member(team.id, resolved.user_id) is None:
        raise team_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")
    rows = db.session.scalars(
        select(TeamMember).where(TeamMember.team_id == team.id).order_by(TeamMember.created_at, TeamMember.id)
    )
    return json_response([team_member_json(row) for row in rows])


def _team_member_guard(resolved: ResolvedSession, body: s.TeamMemberBody, action: str, refused: str) -> Team:
    """What adding and removing share: the caller's permission (``member:<action>``), the user's
    membership of the organization, and the team in it."""
    organization_id = _acting_organization(resolved, body.organization_id)
    me = find_member(resolved.user_id, organization_id)
    if me is None:
        raise team_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    if not member_allows(me.role, {"member": [action]}):
        raise team_error(403, refused)
    if find_member(body.user_id, organization_id) is None:
        raise team_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
    team = find_team(body.team_id, organization_id)
    if team is None:
        raise team_error(400, "TEAM_NOT_FOUND")
    return team


@bp.post("/organization/add-team-member")
@teams_only
@endpoint(summary="Add a member of the organization to a team (needs member:update)", tags=TEAM_TAGS,
          body=s.TeamMemberBody, response=s.TeamMemberOut,
          responses={400: "Not a member, or team not found", 403: "Not allowed, or team member limit reached"})
@session_guard
def org_add_team_member(body: s.TeamMemberBody) -> ResponseReturnValue:
    resolved = require_session()
    team = _team_member_guard(resolved, body, "update", "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER")
    member = add_team_member(team.id, body.user_id)
    db.session.commit()
    _audit(resolved, "organization.team_member_add", team.id, team.organization_id, userId=body.user_id)
    return json_response(team_member_json(member))


@bp.post("/organization/remove-team-member")
@teams_only
@endpoint(summary="Remove a user from a team (needs member:delete)", tags=TEAM_TAGS, body=s.TeamMemberBody,
          response=s.MessageOut,
          responses={400: "Not a member of the organization or team, or team not found", 403: "Not allowed"})
@session_guard
def org_remove_team_member(body: s.TeamMemberBody) -> ResponseReturnValue:
    resolved = require_session()
    team = _team_member_guard(resolved, body, "delete", "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER")
    row = find_team_member(team.id, body.user_id)
    if row is None:
        raise team_error(400, "USER_IS_NOT_A_MEMBER_OF_THE_TEAM")
    clear_active_team([team.id], body.user_id)
    db.session.delete(row)
    db.session.commit()
    _audit(resolved, "organization.team_member_remove", team.id, team.organization_id, userId=body.user_id)
    return json_response({"message": "Team member removed successfully."})
