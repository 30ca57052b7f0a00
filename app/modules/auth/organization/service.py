"""Memberships and roles: the public functions other plugins and modules use.

A permission check is one lookup on the unique (organizationId, userId) index, whatever the size of
the organization (no member-list scan), remembered only for the current request. Nothing outlives
the request, so a membership or role change is seen by the next request in every process
(OWASP ASVS V4.1.3: authorization decided on the server, on current data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import g, has_app_context
from sqlalchemy import select, update

from app.core.errors import ApiError
from app.extensions import db
from app.modules.auth.models import Session
from app.modules.auth.organization.models import Member
from app.modules.auth.organization.roles import role_allows
from app.modules.auth.revocation import note
from app.modules.auth.sessions import mark_stale

_MEMO = "_org_member_roles"


def _memo() -> dict[tuple[str, str], str | None] | None:
    if not has_app_context():
        return None
    found: dict[tuple[str, str], str | None] | None = g.get(_MEMO)
    if found is None:
        found = {}
        setattr(g, _MEMO, found)
    return found


def memberships_changed(*user_ids: str, organization_id: str | None = None) -> None:
    """Call before committing a membership added or removed: cached sessions carry their user's
    default organization (``default_organization_enricher``), so they are marked stale in every
    process; with ``organization_id``, every member's sessions (an organization deleted)."""
    tokens: list[str] = []
    users = set(user_ids)
    if users:
        tokens += db.session.scalars(select(Session.token).where(Session.user_id.in_(users)))
    if organization_id is not None:
        members = set(db.session.scalars(select(Member.user_id).where(Member.organization_id == organization_id)))
        users |= members
        tokens += db.session.scalars(select(Session.token).where(Session.user_id.in_(members)))
    note("u", users)
    mark_stale(tokens)
    forget_memberships()


def forget_memberships() -> None:
    """Drop this request's remembered roles: call after any membership or role write."""
    if has_app_context():
        g.pop(_MEMO, None)


def find_member(user_id: str, organization_id: str) -> Member | None:
    """The membership row, by the unique (organizationId, userId) index."""
    return db.session.scalar(
        select(Member).where(Member.organization_id == organization_id, Member.user_id == user_id)
    )


def member_role(user_id: str, organization_id: str) -> str | None:
    """The user's role string in the organization (``"admin,member"``), or None when not a member."""
    if not user_id or not organization_id:
        return None
    memo = _memo()
    key = (user_id, organization_id)
    if memo is not None and key in memo:
        return memo[key]
    role = db.session.scalar(
        select(Member.role).where(Member.organization_id == organization_id, Member.user_id == user_id)
    )
    if memo is not None:
        memo[key] = role
    return role


def member_allows(role: str | None, permissions: Mapping[str, Sequence[str]]) -> bool:
    """The one organization-role policy: a member's stored role (``"admin,member"``) allows the
    request when any one of its roles allows every requested action. The guards' permission check,
    every organization route and the API-key plugin all come here."""
    return role is not None and role_allows(role, permissions)


def require_member_permission(role: str | None, permissions: Mapping[str, Sequence[str]], refusal: ApiError) -> None:
    """An organization route's role check: raise ``refusal`` (better-auth's code for that route)
    unless :func:`member_allows`."""
    if not member_allows(role, permissions):
        raise refusal


def member_has_permission(user_id: str, organization_id: str, permissions: Mapping[str, Sequence[str]]) -> bool:
    """True when the user is a member and any one of their roles allows every requested action."""
    return member_allows(member_role(user_id, organization_id), permissions)


def oldest_membership(user_id: str) -> str | None:
    """The organization the user joined first: the default context when none is chosen."""
    return db.session.scalar(
        select(Member.organization_id).where(Member.user_id == user_id).order_by(Member.created_at, Member.id).limit(1)
    )


def parse_role_list(value: str | Sequence[str] | None) -> list[str]:
    """better-auth's ``parseRoleList``: a string or list, split on commas, trimmed, empties dropped."""
    items = [value] if isinstance(value, str) else list(value or [])
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def point_sessions_nowhere(where: Any, user_id: str | None, **values: None) -> bool:
    """Set ``values`` (an active organization or team) to None on the sessions matching ``where``
    (of ``user_id``, or everyone's); False when none did. Their cached copies must not answer the
    old value: a revocation event for each and their Redis copies marked stale, before the write."""
    conditions: list[Any] = [where] if user_id is None else [where, Session.user_id == user_id]
    rows = db.session.execute(select(Session.id, Session.token).where(*conditions)).all()
    if not rows:
        return False
    note("s", [row[0] for row in rows])
    mark_stale([row[1] for row in rows])
    db.session.execute(update(Session).where(*conditions).values(**values))
    return True


def clear_active_organization(organization_id: str, user_id: str | None = None) -> None:
    """Sessions (of ``user_id``, or everyone's) that point at the organization point nowhere now."""
    if point_sessions_nowhere(Session.active_organization_id == organization_id, user_id, active_organization_id=None):
        forget_memberships()


def organization_id_by_slug(slug: str) -> str | None:
    """The organization a slug names (the tenant module's subdomain lookup), or None."""
    from app.modules.auth.organization.models import Organization

    return db.session.scalar(select(Organization.id).where(Organization.slug == slug))
