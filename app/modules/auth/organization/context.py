"""The organization context of a request, and the member permission check the guards ask.

The context hook (an ``AuthState.context_hooks`` entry; docs/architecture.md, "The request, step
by step", 4) fills the identity's ``organization_id`` with the
user's oldest membership only when nothing chose one: never over the session's active organization
or an organization-scoped credential. ``@require_permission`` then asks the member's role in the
current organization (the tenant when the tenant module resolved one), one indexed lookup.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.core.identity import Identity, current
from app.modules.auth.models import Session
from app.modules.auth.organization.models import Member
from app.modules.auth.organization.service import member_has_permission, oldest_membership
from app.modules.auth.revocation import known_epoch, revocation_state

_DEFAULTS = "auth.organization.default_memo"
DEFAULTS_TTL = 60.0


def current_organization_id() -> str | None:
    """The tenant when the tenant module resolved one, else the bridge's organization context."""
    return current().organization()


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


def default_organization_context(identity: Identity) -> Identity:
    """``AuthState.context_hooks`` entry: the oldest membership when the session has no active
    organization (cached with the session; JWT callers are left without a default)."""
    if identity.organization_id is not None or identity.user is None:
        return identity
    if identity.credential == "jwt":
        # A JWT is verified without touching the database; its organization context comes from
        # the tenant header (or an explicit organizationId), not from a per-request lookup.
        return identity
    resolved = identity.resolved
    if resolved is not None and "defaultOrganizationId" in resolved.ext:
        default = resolved.ext["defaultOrganizationId"]
    else:
        default = _remembered_oldest_membership(identity.user.id)
    # A user without memberships keeps the identity as it is (``replace`` copies every field).
    return identity if default is None else replace(identity, organization_id=default)


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


def member_permission_check(identity: Identity, permissions: Mapping[str, Sequence[str]]) -> bool:
    """``AuthState.member_permission_check``: multi-role members pass when any one role allows."""
    user = identity.user
    organization_id = identity.organization()
    if user is None or not organization_id:
        return False
    return member_has_permission(user.id, organization_id, permissions)
