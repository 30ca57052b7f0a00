"""The application's access control: every resource, its actions, and what each organization role may do.

The one place that says who may do what inside an organization (OWASP ASVS V4.1: a single, central
authorization policy; deny by default). The organization plugin's ``has-permission``, the
``@require_permission`` guard and the API documentation all read it. Add a product resource by
adding its statement to :data:`APP_STATEMENTS` and its grants to the roles below.

The organization statements are better-auth 1.7's defaults (``dist/plugins/organization/access/
statement.mjs``), so ``organizationClient``'s client-side ``checkRolePermission`` agrees with the
server for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from app.modules.auth.access import AccessControl, Role, split_roles

#: better-auth's default organization statements.
ORGANIZATION_STATEMENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "organization": ("update", "delete"),
    "member": ("create", "update", "delete"),
    "invitation": ("create", "cancel"),
    "team": ("create", "update", "delete"),
    "ac": ("create", "read", "update", "delete"),
}

#: The application's own resources.
APP_STATEMENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "project": ("create", "read", "update", "delete"),
    "audit": ("read",),
}

STATEMENTS: Final[Mapping[str, tuple[str, ...]]] = {**ORGANIZATION_STATEMENTS, **APP_STATEMENTS}

#: The organization roles, shared by every organization.
organization_ac: Final = AccessControl(STATEMENTS)

owner: Final[Role] = organization_ac.new_role("owner", STATEMENTS)
admin: Final[Role] = organization_ac.new_role(
    "admin",
    {
        "organization": ("update",),
        "member": ("create", "update", "delete"),
        "invitation": ("create", "cancel"),
        "team": ("create", "update", "delete"),
        "ac": ("create", "read", "update", "delete"),
        "project": ("create", "read", "update", "delete"),
        "audit": ("read",),
    },
)
member: Final[Role] = organization_ac.new_role(
    "member",
    {
        "organization": (),
        "member": (),
        "invitation": (),
        "team": (),
        "ac": ("read",),
        "project": ("create", "read", "update"),
    },
)

#: The role an organization's creator gets; only its holders may grant it.
CREATOR_ROLE: Final = "owner"
ROLE_NAMES: Final[frozenset[str]] = frozenset(organization_ac.roles)


def role_allows(role: str | None, permissions: Mapping[str, Sequence[str]]) -> bool:
    """A member's stored role (``"admin,member"``) allows the request when any one of its roles does."""
    return organization_ac.authorize(split_roles(role), permissions)
