"""The auth module's app-wide state: one typed object in ``app.extensions["auth"]``.

What the module and its plugins register at start (credential resolvers by kind, context hooks,
sign-in hooks, the session statement's extra columns, the permission checks the guards ask) and the
services its routes share (the password hasher, the mail executor, the limiters), in place of a
string key per item. Caches that belong to one file (the JWT cache, an API key's memory, the
revocation state, the settings objects) stay that file's own business.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app

from app.core.identity import CredentialKind, Identity

if TYPE_CHECKING:
    from app.modules.auth.lockout import AccountLockout
    from app.modules.auth.origin import TrustedOrigins
    from app.modules.auth.passwords import PasswordHasher
    from app.modules.auth.ratelimit import RateLimiter

__all__ = ["AuthState", "ContextHook", "CredentialResolver", "auth_state"]

#: A plugin's credential: None when the request does not present it; else the identity it
#: establishes (an ``Identity`` with ``error`` set when the credential was presented and refused).
CredentialResolver = Callable[[], Identity | None]
#: Adds context once someone is known (the organization context, a key's pinned organization).
ContextHook = Callable[[Identity], Identity]
#: ``{"project": ["create"]}`` -> verdict; the key check answers None when the request has no key.
PermissionCheck = Callable[[Identity, Mapping[str, Sequence[str]]], bool | None]


@dataclass(eq=False)
class AuthState:
    """Registered once in ``AuthModule.init_app``; plugins fill the hook lists in ``PLUGINS`` order
    (which no longer decides anything about precedence: :data:`app.core.identity.CREDENTIAL_PRECEDENCE`)."""

    hasher: PasswordHasher
    mail_executor: ThreadPoolExecutor
    rate_limiter: RateLimiter
    lockout: AccountLockout
    trusted_origins: TrustedOrigins
    check_redirect: Callable[[str | None, str], None]
    #: better-auth's formCsrfMiddleware paths; plugins add their sign-in paths.
    form_csrf_paths: set[str] = field(default_factory=set)
    bridge: Callable[[], None] | None = None
    #: Plugin credentials by kind; the bridge asks them in ``CREDENTIAL_PRECEDENCE`` order.
    credential_resolvers: dict[CredentialKind, CredentialResolver] = field(default_factory=dict)
    context_hooks: list[ContextHook] = field(default_factory=list)
    #: ``(user, body) -> Response | None``: a response takes the sign-in over (two-factor).
    sign_in_hooks: list[Callable[[Any, Any], Response | None]] = field(default_factory=list)
    #: ``(response) -> None``: e.g. the jwt plugin's ``set-auth-jwt`` header.
    get_session_hooks: list[Callable[[Response], None]] = field(default_factory=list)
    #: name -> expression factory: extra columns loaded with the session (the default organization).
    session_columns: dict[str, Callable[[], Any]] = field(default_factory=dict)
    session_statement: Any = None
    key_permission_check: PermissionCheck | None = None
    member_permission_check: PermissionCheck | None = None


def auth_state(app: Flask | None = None) -> AuthState:
    """The auth module's state (``KeyError`` when the module is off)."""
    found: AuthState = (app or current_app).extensions["auth"]
    return found
