"""The access policy the guards consult when the auth module is on.

401 ``UNAUTHORIZED`` without an identity, 503 ``SERVICE_UNAVAILABLE`` (with ``Retry-After``) when
the identity could not be resolved because a dependency was down, 403 when the identity lacks the role or permission
(OWASP ASVS V4: deny by default). Roles are better-auth's admin-plugin roles (comma-separated on the
user); permissions are asked of the API key's own grants, else of the member's role in the
current organization (the organization plugin), else of the identity's explicit ``permissions``
(``"resource:action"`` strings a module may contribute; empty by default).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.errors import ApiError
from app.core.identity import Identity, current
from app.modules.auth.identity import raise_if_unavailable, resolve_identity
from app.modules.auth.state import auth_state
from app.modules.guards import Permissions


def unauthorized() -> ApiError:
    return ApiError(401, "UNAUTHORIZED", "Unauthorized")


def forbidden() -> ApiError:
    return ApiError(403, "FORBIDDEN", "You do not have the permission this action needs")


class SessionPolicy:
    def authenticate(self) -> None:
        self.identified()

    def identified(self) -> Identity:
        """The request's identity, or the refusal: its credential's own error, 503, 401."""
        resolve_identity()
        identity = current()
        if identity.user is None:
            # A credential that was presented and refused answers with its own reason (an API
            # key's 429 RATE_LIMITED with tryAgainIn, 401 KEY_EXPIRED...), so a client can tell
            # "slow down" from "sign in".
            if identity.error is not None:
                raise identity.error
            raise_if_unavailable()  # "cannot tell" is 503 with Retry-After, never 401
            raise unauthorized()
        if identity.refusal is not None:
            raise identity.refusal  # e.g. the tenant module's 403 for a foreign tenant header
        return identity

    def check_roles(self, roles: Sequence[str]) -> None:
        if not self.holds_role(roles):
            raise ApiError(403, "FORBIDDEN", "You do not have the role this action needs")

    def holds_role(self, roles: Sequence[str]) -> bool:
        user = self.identified().user
        return user is not None and bool(user.roles.intersection(roles))

    def check_permissions(self, permissions: Permissions) -> None:
        """An API key's own permissions are authoritative when the request carries one (no
        fall-through to its owner's role); otherwise the member's role in the current
        organization decides, then any explicit ``Identity.permissions``."""
        identity = self.identified()
        state = auth_state()
        if state.key_permission_check is not None:
            verdict = state.key_permission_check(identity, permissions)  # None: no API key
            if verdict is not None:
                if not verdict:
                    raise forbidden()
                return
        if state.member_permission_check is not None and state.member_permission_check(identity, permissions):
            return
        held = identity.permissions
        if all(f"{resource}:{action}" in held for resource, actions in permissions.items() for action in actions):
            return
        raise forbidden()
