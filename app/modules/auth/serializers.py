"""JSON shapes of better-auth's user and session objects (camelCase, ISO dates with ms and ``Z``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, has_app_context

from app.modules.auth.models import Session, User


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def user_json(user: User) -> dict[str, Any]:
    """Every key always present, as better-auth answers with the admin plugin and additionalFields."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "emailVerified": bool(user.email_verified),
        "image": user.image,
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
        "twoFactorEnabled": bool(user.two_factor_enabled),
        "role": user.role,
        "banned": bool(user.banned),
        "banReason": user.ban_reason,
        "banExpires": iso(user.ban_expires),
        "firstname": user.firstname,
        "lastname": user.lastname,
        "bio": user.bio,
    }


#: ``app.extensions`` flag the organization plugin sets with teams on: sessions carry ``activeTeamId``.
SESSION_ACTIVE_TEAM = "auth.session_active_team"


def session_json(session: Session, token: str) -> dict[str, Any]:
    """``token`` is what the caller may see: the real token for its own session, a handle otherwise."""
    body = {
        "id": session.id,
        "token": token,
        "userId": session.user_id,
        "expiresAt": iso(session.expires_at),
        "createdAt": iso(session.created_at),
        "updatedAt": iso(session.updated_at),
        "ipAddress": session.ip_address or "",
        "userAgent": session.user_agent or "",
        "impersonatedBy": session.impersonated_by,
        "activeOrganizationId": session.active_organization_id,
    }
    if has_app_context() and current_app.extensions.get(SESSION_ACTIVE_TEAM):
        body["activeTeamId"] = session.active_team_id  # better-auth has the key only with teams
    return body
