"""The organization roles (owner, admin, member) and better-auth's default organization statements.

Auth declares them here; the application (``app/access_control.py``) and the other modules (audit's
``audit:read``) add their own resources with :meth:`AccessControl.extend`, so the dependency runs one
way: they import auth, auth imports none of them. The statements are better-auth 1.7's defaults
(``dist/plugins/organization/access/statement.mjs``), so ``organizationClient``'s client-side
``checkRolePermission`` agrees with the server for them.
"""

from __future__ import annotations

from collections.abc import KeysView, Mapping, Sequence
from typing import Final

from app.modules.auth.access import AccessControl, split_roles

#: better-auth's default organization statements.
ORGANIZATION_STATEMENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "organization": ("update", "delete"),
    "member": ("create", "update", "delete"),
    "invitation": ("create", "cancel"),
    "team": ("create", "update", "delete"),
    "ac": ("create", "read", "update", "delete"),
}

#: The organization roles, shared by every organization.
organization_ac: Final = AccessControl(ORGANIZATION_STATEMENTS)
organization_ac.new_role("owner", ORGANIZATION_STATEMENTS)
organization_ac.new_role(
    "admin",
    {
        "organization": ("update",),
        "member": ("create", "update", "delete"),
        "invitation": ("create", "cancel"),
        "team": ("create", "update", "delete"),
        "ac": ("create", "read", "update", "delete"),
    },
)
organization_ac.new_role(
    "member",
    {"organization": (), "member": (), "invitation": (), "team": (), "ac": ("read",)},
)

#: The role an organization's creator gets; only its holders may grant it.
CREATOR_ROLE: Final = "owner"
#: The role names (a live view: an extension that adds a role shows here).
ROLE_NAMES: Final[KeysView[str]] = organization_ac.roles.keys()


def role_allows(role: str | None, permissions: Mapping[str, Sequence[str]]) -> bool:
    """A member's stored role (``"admin,member"``) allows the request when any one of its roles does."""
    return organization_ac.authorize(split_roles(role), permissions)
