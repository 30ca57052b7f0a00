"""The guards' policy, aware of refused credentials.

A request whose API key was refused (rate-limited, exhausted, expired, disabled, unknown) is
answered by a guard with the key's own error (429 ``RATE_LIMITED`` with ``details.tryAgainIn``,
401 ``KEY_EXPIRED``...) instead of a bare 401, so a client can tell "slow down" from "sign in".
Wraps the auth module's policy; everything else is the wrapped policy's decision.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import g

from app.modules.auth.identity import resolve_identity
from app.modules.guards import AccessPolicy, Permissions


class CredentialErrorPolicy:
    def __init__(self, inner: AccessPolicy) -> None:
        self.inner = inner

    def _raise_refused_credential(self) -> None:
        resolve_identity()
        error = g.get("auth_error")
        if error is not None and g.get("user") is None:
            raise error

    def authenticate(self) -> None:
        self._raise_refused_credential()
        self.inner.authenticate()

    def check_roles(self, roles: Sequence[str]) -> None:
        self._raise_refused_credential()
        self.inner.check_roles(roles)

    def check_permissions(self, permissions: Permissions) -> None:
        self._raise_refused_credential()
        self.inner.check_permissions(permissions)
