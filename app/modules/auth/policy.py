"""The access policy the guards consult when the auth module is on.

401 ``UNAUTHORIZED`` without an identity, 403 when the identity lacks the role or permission
(OWASP ASVS V4: deny by default). Roles are better-auth's admin-plugin roles (comma-separated on the
user); permissions are what the bridge put in ``g.permissions`` as ``"resource:action"`` strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import g

from app.core.errors import ApiError
from app.modules.auth.identity import resolve_identity
from app.modules.guards import Permissions


def unauthorized() -> ApiError:
    return ApiError(401, "UNAUTHORIZED", "Unauthorized")


class SessionPolicy:
    def authenticate(self) -> None:
        resolve_identity()
        if g.get("user") is None:
            raise unauthorized()

    def check_roles(self, roles: Sequence[str]) -> None:
        self.authenticate()
        if not g.user.roles.intersection(roles):
            raise ApiError(403, "FORBIDDEN", "You do not have the role this action needs")

    def check_permissions(self, permissions: Permissions) -> None:
        self.authenticate()
        held = g.get("permissions") or frozenset()
        missing = [f"{resource}:{action}" for resource, actions in permissions.items() for action in actions
                   if f"{resource}:{action}" not in held]
        if missing:
            raise ApiError(403, "FORBIDDEN", "You do not have the permission this action needs")
