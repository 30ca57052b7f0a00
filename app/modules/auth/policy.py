"""The access policy the guards consult when the auth module is on.

401 ``UNAUTHORIZED`` without an identity, 503 ``SERVICE_UNAVAILABLE`` (with ``Retry-After``) when
the identity could not be resolved because a dependency was down, 403 when the identity lacks the role or permission
(OWASP ASVS V4: deny by default). Roles are better-auth's admin-plugin roles (comma-separated on the
user); permissions are what the bridge put in ``g.permissions`` as ``"resource:action"`` strings.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app, g

from app.core.errors import ApiError
from app.modules.auth.identity import raise_if_unavailable, resolve_identity
from app.modules.guards import Permissions


def unauthorized() -> ApiError:
    return ApiError(401, "UNAUTHORIZED", "Unauthorized")


def forbidden() -> ApiError:
    return ApiError(403, "FORBIDDEN", "You do not have the permission this action needs")


class SessionPolicy:
    def authenticate(self) -> None:
        resolve_identity()
        if g.get("user") is None:
            # A credential that was presented and refused answers with its own reason (an API
            # key's 429 RATE_LIMITED with tryAgainIn, 401 KEY_EXPIRED...), so a client can tell
            # "slow down" from "sign in".
            refused = g.get("auth_error")
            if refused is not None:
                raise refused
            raise_if_unavailable()  # "cannot tell" is 503 with Retry-After, never 401
            raise unauthorized()

    def check_roles(self, roles: Sequence[str]) -> None:
        self.authenticate()
        if not g.user.roles.intersection(roles):
            raise ApiError(403, "FORBIDDEN", "You do not have the role this action needs")

    def check_permissions(self, permissions: Permissions) -> None:
        """An API key's own permissions are authoritative when the request carries one (no
        fall-through to its owner's role); otherwise the member's role in the current
        organization decides, then any explicit ``g.permissions``."""
        self.authenticate()
        extensions = current_app.extensions
        key_check = extensions.get("auth.key_permission_check")
        if key_check is not None:
            verdict = key_check(permissions)  # None: the request carries no API key
            if verdict is not None:
                if not verdict:
                    raise forbidden()
                return
        member_check = extensions.get("auth.member_permission_check")
        if member_check is not None and member_check(permissions):
            return
        held = g.get("permissions") or frozenset()
        if all(f"{resource}:{action}" in held for resource, actions in permissions.items() for action in actions):
            return
        raise forbidden()
