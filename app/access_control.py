"""The application's own access control: its resources, and what each organization role may do with them.

The roles (owner, admin, member) and better-auth's organization statements are the auth module's
(:mod:`app.modules.auth.organization.roles`); modules add theirs (audit's ``audit:read``). This file
adds the application's resources to the same roles, in one direction: the application imports auth,
auth never imports this. Add a product resource by adding its statement to :data:`APP_STATEMENTS`
and its grants to :data:`APP_GRANTS`. ``create_app`` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from app.modules.auth.organization.roles import CREATOR_ROLE, ROLE_NAMES, organization_ac, role_allows

__all__ = ["APP_GRANTS", "APP_STATEMENTS", "CREATOR_ROLE", "ROLE_NAMES", "role_allows"]

#: The application's own resources.
APP_STATEMENTS: Final[Mapping[str, tuple[str, ...]]] = {
    "project": ("create", "read", "update", "delete"),
}

#: What each organization role may do with them.
APP_GRANTS: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "owner": APP_STATEMENTS,
    "admin": APP_STATEMENTS,
    "member": {"project": ("create", "read", "update")},
}

organization_ac.extend(APP_STATEMENTS, APP_GRANTS)
