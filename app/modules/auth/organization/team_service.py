"""Teams (better-auth ``teams.enabled``): lookups, membership with its limit, the default team, and
what the organization routes call when organizations, members and invitations change.

A team is always looked up together with the organization the request acts in, so the id of
another organization's team answers exactly as an unknown one (OWASP ASVS V4.2.1, IDOR).
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import Session, utcnow
from app.modules.auth.organization.models import Invitation, Organization, Team, TeamMember
from app.modules.auth.organization.service import point_sessions_nowhere
from app.modules.auth.organization.settings import TeamSettings, org_settings
from app.modules.auth.serializers import SESSION_ACTIVE_TEAM
from app.modules.auth.sessions import ResolvedSession, session_changed

#: better-auth's ORGANIZATION_ERROR_CODES for teams, by code.
TEAM_MESSAGES = {
    "NO_ACTIVE_ORGANIZATION": "No active organization",
    "ORGANIZATION_NOT_FOUND": "Organization not found",
    "TEAM_NOT_FOUND": "Team not found",
    "INVALID_TEAM_ID": "Team id contains a reserved character",
    "YOU_HAVE_REACHED_THE_MAXIMUM_NUMBER_OF_TEAMS": "You have reached the maximum number of teams",
    "UNABLE_TO_REMOVE_LAST_TEAM": "Unable to remove last team",
    "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION": (
        "You are not allowed to invite users to this organization"
    ),
    "YOU_ARE_NOT_ALLOWED_TO_CREATE_TEAMS_IN_THIS_ORGANIZATION": (
        "You are not allowed to create teams in this organization"
    ),
    "YOU_ARE_NOT_ALLOWED_TO_DELETE_TEAMS_IN_THIS_ORGANIZATION": (
        "You are not allowed to delete teams in this organization"
    ),
    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_TEAM": "You are not allowed to update this team",
    "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_TEAM": "You are not allowed to delete this team",
    "YOU_ARE_NOT_ALLOWED_TO_ACCESS_THIS_ORGANIZATION": "You are not allowed to access this organization as an owner",
    "TEAM_MEMBER_LIMIT_REACHED": "Team member limit reached",
    "USER_IS_NOT_A_MEMBER_OF_THE_TEAM": "User is not a member of the team",
    "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION": "User is not a member of the organization",
    "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION": "You are not a member of this organization",
    "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER": "You are not allowed to update this member",
    "YOU_DO_NOT_HAVE_AN_ACTIVE_TEAM": "You do not have an active team",
    "YOU_ARE_NOT_ALLOWED_TO_CREATE_A_NEW_TEAM_MEMBER": "You are not allowed to create a new member",
    "YOU_ARE_NOT_ALLOWED_TO_REMOVE_A_TEAM_MEMBER": "You are not allowed to remove a team member",
}


def team_error(status: int, code: str) -> ApiError:
    return ApiError(status, code, TEAM_MESSAGES[code])


def team_options() -> TeamSettings:
    return org_settings().teams


def teams_enabled() -> bool:
    return bool(current_app.extensions.get(SESSION_ACTIVE_TEAM))


def find_team(team_id: str, organization_id: str | None = None) -> Team | None:
    """The team; with ``organization_id``, only if it belongs there (else None, as an unknown id)."""
    team = db.session.get(Team, team_id)
    if team is None or (organization_id is not None and team.organization_id != organization_id):
        return None
    return team


def list_teams(organization_id: str) -> Sequence[Team]:
    return db.session.scalars(
        select(Team).where(Team.organization_id == organization_id).order_by(Team.created_at, Team.id)
    ).all()


def count_teams(organization_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(Team).where(Team.organization_id == organization_id)) or 0


def team_member_counts(organization_id: str) -> dict[str, int]:
    """Members per team of the organization, in one grouped query."""
    rows = db.session.execute(
        select(TeamMember.team_id, func.count()).join(Team, Team.id == TeamMember.team_id)
        .where(Team.organization_id == organization_id).group_by(TeamMember.team_id)
    ).all()
    return {team_id: count for team_id, count in rows}


def find_team_member(team_id: str, user_id: str) -> TeamMember | None:
    return db.session.scalar(select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id))


def create_team(organization_id: str, name: str, *, updated: bool = True) -> Team:
    """Added, not committed. The default team has no ``updatedAt`` yet, as better-auth writes it."""
    now = utcnow()
    team = Team(id=generate_id(32), name=name, organization_id=organization_id, created_at=now,
                updated_at=now if updated else None)
    db.session.add(team)
    db.session.flush()
    return team


def add_team_member(team_id: str, user_id: str) -> TeamMember:
    """The user's membership of the team, created when missing (flushed, not committed).

    With ``maximum_members_per_team`` the team row is locked first (``SELECT ... FOR UPDATE`` where
    the database has it), so concurrent adds cannot pass the limit together; the unique
    (teamId, userId) index keeps a user from being added twice.
    """
    existing = find_team_member(team_id, user_id)
    if existing is not None:
        return existing
    maximum = team_options().maximum_members_per_team
    if maximum is not None:
        db.session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
        count = db.session.scalar(select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id))
        if (count or 0) >= maximum:
            raise team_error(403, "TEAM_MEMBER_LIMIT_REACHED")
    member = TeamMember(id=generate_id(32), team_id=team_id, user_id=user_id, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(member)
    except IntegrityError:  # a concurrent add won
        found = find_team_member(team_id, user_id)
        if found is None:
            raise
        return found
    return member


def team_is_full(team_id: str) -> bool:
    maximum = team_options().maximum_members_per_team
    if maximum is None:
        return False
    count = db.session.scalar(select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id))
    return (count or 0) >= maximum


def create_default_team(organization: Organization, user_id: str) -> TeamMember | None:
    """better-auth's ``defaultTeam``: a team named after a new organization, its creator in it."""
    options = team_options()
    if not options.enabled or not options.default_team_enabled:
        return None
    team = create_team(organization.id, organization.name, updated=False)
    return add_team_member(team.id, user_id)


def set_active_team(resolved: ResolvedSession, team_id: str | None) -> None:
    """Point this session at the team (not committed); its cached copy is marked stale first."""
    session_changed(resolved)
    db.session.execute(update(Session).where(Session.token == resolved.token_hash).values(active_team_id=team_id))


def clear_active_team(team_ids: Sequence[str], user_id: str | None = None) -> None:
    """Sessions (of ``user_id``, or everyone's) whose active team is gone or no longer theirs point
    at no team (better-auth leaves them pointing at it)."""
    if team_ids:
        point_sessions_nowhere(Session.active_team_id.in_(list(team_ids)), user_id, active_team_id=None)


def delete_team(team: Team) -> None:
    """The team, its memberships, and its id in pending invitations (as better-auth), not committed."""
    clear_active_team([team.id])
    pending = db.session.scalars(
        select(Invitation).where(Invitation.organization_id == team.organization_id, Invitation.status == "pending",
                                 Invitation.team_id.is_not(None))
    ).all()
    for invitation in pending:
        ids = (invitation.team_id or "").split(",")
        if team.id in ids:
            remaining = [i for i in ids if i != team.id]
            invitation.team_id = ",".join(remaining) if remaining else None
    db.session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    db.session.delete(team)


def forget_organization_teams(organization_id: str) -> None:
    """An organization being deleted: its teams and their memberships go too (not committed)."""
    team_ids = list(db.session.scalars(select(Team.id).where(Team.organization_id == organization_id)))
    if not team_ids:
        return
    clear_active_team(team_ids)
    db.session.execute(delete(TeamMember).where(TeamMember.team_id.in_(team_ids)))
    db.session.execute(delete(Team).where(Team.id.in_(team_ids)))


def leave_organization_teams(organization_id: str, user_id: str) -> None:
    """A member removed from an organization leaves its teams (better-auth, with teams on)."""
    team_ids = list(db.session.scalars(select(Team.id).where(Team.organization_id == organization_id)))
    if not team_ids:
        return
    clear_active_team(team_ids, user_id)
    db.session.execute(delete(TeamMember).where(TeamMember.team_id.in_(team_ids), TeamMember.user_id == user_id))


def join_invited_teams(invitation: Invitation, resolved: ResolvedSession) -> bool:
    """Accepting an invitation that names teams: the user joins each; with exactly one, it becomes
    the session's active team (better-auth; True then). Not committed; raises TEAM_NOT_FOUND or
    the limit."""
    if not teams_enabled() or not invitation.team_id:
        return False
    team_ids = invitation.team_id.split(",")
    for team_id in team_ids:
        if find_team(team_id, invitation.organization_id) is None:
            raise team_error(400, "TEAM_NOT_FOUND")
        add_team_member(team_id, resolved.user_id)
    if len(team_ids) != 1:
        return False
    set_active_team(resolved, team_ids[0])
    return True


def invitation_team_ids(organization_id: str, given: str | Sequence[str] | None) -> str | None:
    """The ``teamId`` of a new invitation (comma-joined, as better-auth stores it), checked: each
    team must be this organization's and have room. None when teams are off or none are named."""
    if not teams_enabled() or not given:
        return None
    team_ids = [given] if isinstance(given, str) else list(given)
    if any("," in team_id for team_id in team_ids):
        raise team_error(400, "INVALID_TEAM_ID")
    for team_id in team_ids:
        if find_team(team_id, organization_id) is None:
            raise team_error(400, "TEAM_NOT_FOUND")
    for team_id in team_ids:
        if team_is_full(team_id):
            raise team_error(403, "TEAM_MEMBER_LIMIT_REACHED")
    return ",".join(team_ids) if team_ids else None
