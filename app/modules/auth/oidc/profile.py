"""From the provider's claims to our user: profile fields, and the role mapping's four modes.

Profile (as better-auth's generic OAuth): ``name``, ``email`` (lower-cased), ``email_verified``,
``picture`` → image; and always ``given_name`` → firstname, ``family_name`` → lastname.

Roles (``KEYCLOAK__MAP_ROLES`` / ``KEYCLOAK__MAP_GROUPS``):

=========  ==========  ===============================================================
map_roles  map_groups  the user's roles
=========  ==========  ===============================================================
false      false       the app's own (Keycloak gives identity only; never touched)
true       false       realm roles (``realm_access.roles``, or a flat ``realm_roles``)
false      true        groups (``groups``, leading "/" stripped)
true       true        both, merged and deduplicated
=========  ==========  ===============================================================

In the three enterprise modes the roles are synced at every sign-in, and an empty result means
the default role ``user`` (never the old roles: a right removed at the provider is gone here).
Keycloak's built-in roles (``offline_access``, ``uma_authorization``, ``default-roles-<realm>``)
are never mapped, nor organization roles (``org-<role>:<slug>``, see ``provisioning.py``), nor
names that cannot be a role (better-auth stores roles comma-separated).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_ROLE = "user"
BUILTIN_ROLES = frozenset({"offline_access", "uma_authorization"})
_ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
#: A group path as a role: ``acme/admin`` from ``/acme/admin`` (segments of role-name characters).
_GROUP_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*(/[A-Za-z0-9][A-Za-z0-9_.:-]*)*$")
ROLE_COLUMN_MAX = 255


@dataclass(frozen=True, slots=True)
class Profile:
    """The user fields the provider vouches for."""

    subject: str
    email: str | None
    email_verified: bool
    name: str
    image: str | None
    firstname: str | None
    lastname: str | None


def _text(value: Any, limit: int = 255) -> str | None:
    return value.strip()[:limit] if isinstance(value, str) and value.strip() else None


def _verified(value: Any) -> bool:
    # Some providers send "true" as a string; better-auth's parseStringBoolean accepts both.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def profile_from_claims(claims: dict[str, Any]) -> Profile:
    email = _text(claims.get("email"), 320)
    firstname = _text(claims.get("given_name"))
    lastname = _text(claims.get("family_name"))
    name = _text(claims.get("name")) or " ".join(p for p in (firstname, lastname) if p) or ""
    return Profile(
        subject=str(claims["sub"]),
        email=email.lower() if email else None,
        email_verified=_verified(claims.get("email_verified")),
        name=name,
        image=_text(claims.get("picture"), 2048),
        firstname=firstname,
        lastname=lastname,
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def realm_roles(claims: dict[str, Any]) -> list[str]:
    """Realm roles: Keycloak's ``realm_access.roles``, or a flat ``realm_roles`` claim."""
    access = claims.get("realm_access")
    roles = _strings(access.get("roles")) if isinstance(access, dict) else []
    return roles + _strings(claims.get("realm_roles"))


def group_paths(claims: dict[str, Any]) -> list[str]:
    """The ``groups`` claim, as given (full paths like ``/acme/admin``, or bare names)."""
    return _strings(claims.get("groups"))


def is_mappable(role: str) -> bool:
    if role in BUILTIN_ROLES or role.startswith("default-roles-") or role.startswith("org-"):
        return False
    if "/" in role:  # a nested group's path
        return len(role) <= 128 and bool(_GROUP_ROLE.match(role))
    return bool(_ROLE_NAME.match(role))


def _dedupe(roles: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for role in roles:
        if is_mappable(role):
            seen.setdefault(role, None)
    return list(seen)


def mapped_roles(
    claims: dict[str, Any], *, map_roles: bool, map_groups: bool, org_slugs: frozenset[str] = frozenset()
) -> str | None:
    """The user's role column for this sign-in, or None when the app owns the roles.

    A group maps to its path without the leading ``/`` (``/staff`` -> ``staff``, ``/acme/admin`` ->
    ``acme/admin``). ``org_slugs``: groups under an organization's slug (``/acme``, ``/acme/admin``)
    are memberships (``provisioning.py``), not roles.
    """
    if not map_roles and not map_groups:
        return None
    found: list[str] = []
    if map_roles:
        found += realm_roles(claims)
    if map_groups:
        paths = (path.removeprefix("/") for path in group_paths(claims))
        found += [g for g in paths if g.split("/", 1)[0] not in org_slugs]
    roles = _dedupe(found)
    value = ""
    for role in roles:  # keep whole roles only, within the column's width
        candidate = f"{value},{role}" if value else role
        if len(candidate) > ROLE_COLUMN_MAX:
            break
        value = candidate
    return value or DEFAULT_ROLE
