"""JSON shapes of organizations, members and invitations, as better-auth 1.7 answers them.

Better than better-auth: ``metadata`` is an object (or null) in every response, never the JSON
string its ``list`` returns.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app

from app.modules.auth.models import User
from app.modules.auth.organization.models import Invitation, Member, Organization, Team, TeamMember
from app.modules.auth.serializers import SESSION_ACTIVE_TEAM, iso


def parse_metadata(raw: str | None) -> dict[str, Any] | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def organization_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "slug": org.slug,
        "logo": org.logo,
        "createdAt": iso(org.created_at),
        "metadata": parse_metadata(org.metadata_json),
    }


def member_json(member: Member, user: User | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": member.id,
        "organizationId": member.organization_id,
        "userId": member.user_id,
        "role": member.role,
        "createdAt": iso(member.created_at),
    }
    if user is not None:
        body["user"] = {"id": user.id, "name": user.name, "email": user.email, "image": user.image}
    return body


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    body = {
        "id": invitation.id,
        "organizationId": invitation.organization_id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "expiresAt": iso(invitation.expires_at),
        "createdAt": iso(invitation.created_at),
        "inviterId": invitation.inviter_id,
    }
    if invitation.team_id is not None or current_app.extensions.get(SESSION_ACTIVE_TEAM):
        body["teamId"] = invitation.team_id  # better-auth has the key only with teams
    return body


def team_json(team: Team) -> dict[str, Any]:
    return {
        "id": team.id,
        "name": team.name,
        "organizationId": team.organization_id,
        "createdAt": iso(team.created_at),
        "updatedAt": iso(team.updated_at),
    }


def team_member_json(member: TeamMember) -> dict[str, Any]:
    return {"id": member.id, "teamId": member.team_id, "userId": member.user_id, "createdAt": iso(member.created_at)}
