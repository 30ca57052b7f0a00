"""The organization context of a request, and the member permission check the guards ask.

The context hook (docs/architecture.md, "The request, step by step", 4) fills ``g.organization_id`` with the
user's oldest membership only when nothing chose one: never over the session's active organization
or an organization-scoped credential. ``@require_permission`` then asks the member's role in the
current organization (the tenant when the tenant module resolved one), one indexed lookup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, g
from sqlalchemy import select

from app.modules.auth.models import Session
from app.modules.auth.organization.models import Member
from app.modules.auth.organization.service import member_has_permission, oldest_membership
from app.modules.auth.revocation import known_epoch, revocation_state

_DEFAULTS = "auth.organization.default_memo"
DEFAULTS_TTL = 60.0


def current_organization_id() -> str | None:
    """The tenant when the tenant module resolved one, else the bridge's organization context."""
    tenant = g.get("tenant")
    if tenant is not None:
        tenant_id: str = tenant.id
        return tenant_id
    organization_id: str | None = g.get("organization_id")
    return organization_id


def default_organization_column() -> Any:
    """``auth.session_columns`` entry: the user's oldest membership, loaded with the session in the
    same statement and cached with it, so the bridge answers it without a query of its own (kept
    true by ``service.memberships_changed``)."""
    return (
        select(Member.organization_id)
        .where(Member.user_id == Session.user_id)
        .order_by(Member.created_at, Member.id)
        .limit(1)
        .scalar_subquery()
    )


def default_organization_context() -> None:
    """``auth.context_hooks`` entry: the oldest membership when the session has no active organization
    (cached with the session; JWT callers are left without a default)."""
    if g.get("organization_id") is not None or g.get("user") is None:
        return
    if g.get("auth_source") == "jwt":
        # A JWT is verified without touching the database; its organization context comes from
        # the tenant header (or an explicit organizationId), not from a per-request lookup.
        return
    resolved = g.get("auth_session")
    if resolved is not None and "defaultOrganizationId" in resolved.ext:
        g.organization_id = resolved.ext["defaultOrganizationId"]
        return
    g.organization_id = _remembered_oldest_membership(g.user.id)


def _remembered_oldest_membership(user_id: str) -> str | None:
    """The oldest membership of a caller without a session (an API key), remembered by this process
    until a membership change of the user (a revocation event ``u``) or ``DEFAULTS_TTL``."""
    state = revocation_state()
    epoch = known_epoch()
    memo: dict[str, tuple[str | None, int, float]] = current_app.extensions.setdefault(_DEFAULTS, {})
    held = memo.get(user_id)
    now = time.time()
    if (held is not None and held[2] + DEFAULTS_TTL > now and not state.undelivered()
            and state.subject_valid(held[1], "u:" + user_id)):
        return held[0]
    found = oldest_membership(user_id)
    if epoch >= 0:
        if len(memo) >= 10_000:
            memo.clear()
        memo[user_id] = (found, epoch, now)
    return found


def member_permission_check(permissions: Mapping[str, Sequence[str]]) -> bool:
    """``auth.member_permission_check``: multi-role members pass when any one role allows."""
    user = g.get("user")
    organization_id = current_organization_id()
    if user is None or not organization_id:
        return False
    return member_has_permission(user.id, organization_id, permissions)
