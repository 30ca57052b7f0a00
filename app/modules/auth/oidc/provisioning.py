"""Organization memberships from the identity provider, made or updated at sign-in.

Sources (both read when ``KEYCLOAK__PROVISION_ORGANIZATIONS`` is on):

- realm roles ``org-<role>:<slug>``, e.g. ``org-admin:acme``;
- groups ``/<slug>`` (role ``member``) and ``/<slug>/<role>``, e.g. ``/acme/admin``.

Organizations are never created here: a slug with no organization is ignored, so a typo or a
hostile claim cannot conjure a tenant. Several roles for one organization are merged (the
``member.role`` column is comma-separated, as better-auth's). Memberships the provider no longer
asserts are left alone: nothing records which memberships the provider made, and removing a
membership made in the app would be worse (see the report of issue 8).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import utcnow
from app.modules.auth.oidc.profile import group_paths, realm_roles

DEFAULT_MEMBER_ROLE = "member"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _slug_role_pairs(claims: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for role in realm_roles(claims):
        if role.startswith("org-") and ":" in role:
            org_role, _, slug = role.removeprefix("org-").partition(":")
            pairs.append((slug, org_role))
    for path in group_paths(claims):
        parts = path.strip("/").split("/")
        if len(parts) == 1:
            pairs.append((parts[0], DEFAULT_MEMBER_ROLE))
        elif len(parts) == 2:
            pairs.append((parts[0], parts[1]))
    return [(slug, role) for slug, role in pairs if _NAME.match(slug) and _NAME.match(role)]


def candidate_slugs(claims: dict[str, Any]) -> set[str]:
    return {slug for slug, _ in _slug_role_pairs(claims)}


def wanted_memberships(claims: dict[str, Any]) -> dict[str, str]:
    """``{slug: "role[,role]"}`` the provider asserts (organizations not looked up yet)."""
    wanted: dict[str, list[str]] = {}
    for slug, role in _slug_role_pairs(claims):
        roles = wanted.setdefault(slug, [])
        if role not in roles:
            roles.append(role)
    return {slug: ",".join(roles) for slug, roles in wanted.items()}


def organization_models() -> tuple[Any, Any] | None:
    """(Organization, Member), or None when the organization plugin is not there."""
    try:
        from app.modules.auth.organization.models import Member, Organization
    except ImportError:
        return None
    return Organization, Member


def existing_slugs(slugs: Iterable[str]) -> frozenset[str]:
    models = organization_models()
    wanted = list(slugs)
    if models is None or not wanted:
        return frozenset()
    organization = models[0]
    return frozenset(db.session.scalars(select(organization.slug).where(organization.slug.in_(wanted))))


def sync_memberships(user_id: str, claims: dict[str, Any]) -> list[dict[str, str]]:
    """Make or update the user's memberships (added, not committed); returns what changed."""
    models = organization_models()
    wanted = wanted_memberships(claims)
    if models is None or not wanted:
        return []
    organization, member = models
    orgs = {
        slug: org_id
        for org_id, slug in db.session.execute(
            select(organization.id, organization.slug).where(organization.slug.in_(list(wanted)))
        )
    }
    changes: list[dict[str, str]] = []
    for slug, org_id in orgs.items():
        role = wanted[slug]
        row = db.session.scalar(select(member).where(member.organization_id == org_id, member.user_id == user_id))
        if row is None:
            db.session.add(
                member(id=generate_id(), organization_id=org_id, user_id=user_id, role=role, created_at=utcnow())
            )
            changes.append({"organizationId": org_id, "role": role, "change": "added"})
        elif row.role != role:
            row.role = role
            changes.append({"organizationId": org_id, "role": role, "change": "updated"})
    if changes:
        _memberships_changed(user_id)
    return changes


def _memberships_changed(user_id: str) -> None:
    """The organization plugin caches the default organization with the sessions and remembers
    roles for the request: a membership write must refresh both."""
    try:
        from app.modules.auth.organization.service import memberships_changed
    except ImportError:
        return
    memberships_changed(user_id)
