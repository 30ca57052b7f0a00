"""Organization memberships from the identity provider, made or updated at sign-in.

Sources (both read when ``KEYCLOAK__PROVISION_ORGANIZATIONS`` is on):

- realm roles ``org-<role>:<slug>``, e.g. ``org-admin:acme``;
- groups ``/<slug>`` (role ``member``) and ``/<slug>/<role>``, e.g. ``/acme/admin``.

Organizations are never created here: a slug with no organization is ignored, so a typo or a
hostile claim cannot conjure a tenant. Several roles for one organization are merged (the
``member.role`` column is comma-separated, as better-auth's).

The memberships the provider makes are recorded (``provisioned_membership``) and reconciled at every
sign-in: their role follows the claims, and they are removed once the provider stops asserting them
(but an organization's last owner stays, logged, so no organization is left without one). A
membership made in the app is never changed or removed here, even when the claims name it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.modules.auth.crypto import generate_id
from app.modules.auth.models import utcnow
from app.modules.auth.oidc.profile import group_paths, realm_roles

log = logging.getLogger(__name__)

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


def _is_last_owner(member: Any, row: Any) -> bool:
    if "owner" not in row.role.split(","):
        return False
    owners = db.session.scalar(
        select(func.count()).select_from(member)
        .where(member.organization_id == row.organization_id, member.role.contains("owner"))
    )
    return (owners or 0) <= 1


def sync_memberships(user_id: str, claims: dict[str, Any], provider_id: str = "keycloak") -> list[dict[str, str]]:
    """Reconcile the user's provider-made memberships with the claims (added, not committed).

    Returns what changed (``added``, ``updated``, ``removed``).
    """
    from app.modules.auth.oidc.models import ProvisionedMembership

    models = organization_models()
    if models is None:
        return []
    organization, member = models
    wanted = wanted_memberships(claims)
    orgs: dict[str, str] = {}
    if wanted:
        orgs = {
            org_id: slug
            for org_id, slug in db.session.execute(
                select(organization.id, organization.slug).where(organization.slug.in_(list(wanted)))
            )
        }
    current = {
        row.organization_id: (row, provisioned is not None)
        for row, provisioned in db.session.execute(
            select(member, ProvisionedMembership.member_id)
            .outerjoin(ProvisionedMembership, ProvisionedMembership.member_id == member.id)
            .where(member.user_id == user_id)
        )
    }
    changes: list[dict[str, str]] = []
    for org_id, slug in orgs.items():
        role = wanted[slug]
        found = current.get(org_id)
        if found is None:
            row = member(id=generate_id(), organization_id=org_id, user_id=user_id, role=role, created_at=utcnow())
            db.session.add(row)
            db.session.flush()  # the member row before the record that points at it
            db.session.add(ProvisionedMembership(member_id=row.id, provider_id=provider_id, created_at=utcnow()))
            changes.append({"organizationId": org_id, "role": role, "change": "added"})
        elif found[1] and found[0].role != role:
            found[0].role = role
            changes.append({"organizationId": org_id, "role": role, "change": "updated"})
    for org_id, (row, provisioned) in current.items():
        if not provisioned or org_id in orgs:
            continue
        if _is_last_owner(member, row):
            log.warning("provider no longer asserts %s's membership of %s, kept: its last owner", user_id, org_id)
            continue
        db.session.delete(row)
        changes.append({"organizationId": org_id, "role": row.role, "change": "removed"})
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
