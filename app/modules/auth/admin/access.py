"""The admin plugin's typed statements and roles (better-auth ``plugins/admin/access``, reference §7).

Role ``admin`` holds every statement but ``user:impersonate-admins``; role ``user`` holds none
(deny by default, OWASP ASVS V4.1). The AccessControl lives in ``app.extensions["auth.admin.ac"]``
so an application can add roles (``ac.new_role("support", {"user": ["list", "get"]})``); only roles
it knows can be assigned.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Flask, current_app

from app.core.settings import current
from app.modules.auth.access import AccessControl, split_roles
from app.modules.auth.admin.options import AdminOptions

STATEMENTS: Mapping[str, Sequence[str]] = {
    "user": ("create", "list", "set-role", "ban", "impersonate", "impersonate-admins", "delete",
             "set-password", "set-email", "set-phone", "get", "update"),
    "session": ("list", "revoke", "delete"),
}
_EXTENSION = "auth.admin.ac"


def default_access_control() -> AccessControl:
    ac = AccessControl(STATEMENTS)
    ac.new_role("admin", {
        "user": [a for a in STATEMENTS["user"] if a != "impersonate-admins"],
        "session": list(STATEMENTS["session"]),
    })
    ac.new_role("user", {"user": [], "session": []})
    return ac


def init_access(app: Flask) -> AccessControl:
    ac = app.extensions.get(_EXTENSION)
    if not isinstance(ac, AccessControl):
        ac = default_access_control()
        app.extensions[_EXTENSION] = ac
    return ac


def access_control() -> AccessControl:
    ac: AccessControl = current_app.extensions[_EXTENSION]
    return ac


def options() -> AdminOptions:
    return current(AdminOptions)


def has_permission(user_id: str | None, role: str | None, permissions: Mapping[str, Sequence[str]]) -> bool:
    """better-auth's ``hasPermission``: ``adminUserIds`` always pass; else any role must allow all."""
    opts = options()
    if user_id and user_id in opts.admin_user_ids:
        return True
    if not permissions:
        return False
    return access_control().authorize(split_roles(role or opts.default_role), permissions)


def role_exists(name: str) -> bool:
    return name in access_control().roles


def grants(role: str | None) -> frozenset[str]:
    """Every ``resource:action`` the roles of a user hold: to tell promotions from demotions."""
    held: set[str] = set()
    for name in split_roles(role):
        found = access_control().roles.get(name)
        if found is not None:
            held.update(f"{resource}:{action}" for resource, actions in found.grants.items() for action in actions)
    return frozenset(held)


def is_admin(user_id: str, role: str | None) -> bool:
    """An admin in better-auth's sense: an ``adminRoles`` role or an ``adminUserIds`` entry."""
    opts = options()
    roles = split_roles(role or opts.default_role)
    return any(r in opts.admin_roles for r in roles) or user_id in opts.admin_user_ids
