"""Who the request is: one typed, immutable :class:`Identity` per request.

The auth module's bridge is the only writer (``bind``); every other module reads ``current()`` and
adds its own context only through the declared hook ``AppModule.contribute_identity``, which
returns a new ``Identity`` (``dataclasses.replace``) for the bridge to bind. ``release()`` runs at
the end of every request (``teardown_request``), so nothing one request resolved answers for the
next, even where a caller shares one app context across requests (tests, scripts).

The types here are the core's, so the tenant module, the audit module and the application read
identity without importing the auth module (which may be off: then ``current()`` is anonymous).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from flask import g, has_app_context

__all__ = [
    "ANONYMOUS",
    "CREDENTIAL_PRECEDENCE",
    "CredentialKind",
    "Identity",
    "Principal",
    "Tenant",
    "bind",
    "current",
    "is_bound",
    "release",
]

#: How the request proved who it is. ``bearer`` is a session token in ``Authorization: Bearer``.
CredentialKind = Literal["api-key", "jwt", "bearer", "cookie"]

#: better-auth's order, and the only place it is written: explicit credentials (an ``x-api-key``
#: header, a bearer JWT, a bearer session token) before the ambient session cookie. The first kind
#: the request presents decides; an explicit credential that fails fails the request (401 or its
#: own code), it never falls back to the cookie.
CREDENTIAL_PRECEDENCE: tuple[CredentialKind, ...] = ("api-key", "jwt", "bearer", "cookie")

_KEY = "identity"


class Principal(Protocol):
    """The user as routes see it (the auth module's ``AuthUser``): an id, roles, better-auth's JSON."""

    @property
    def id(self) -> str: ...

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def json(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Tenant:
    """The organization a request acts in (filled by the tenant module), and where it came from."""

    id: str
    source: str  # "session" | "header" | "subdomain" | "context"
    role: str | None  # the caller's member role; None for an organization-scoped API key


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything the request's credentials established; anonymous when ``user`` is None."""

    user: Principal | None = None
    #: better-auth's session JSON (for an API key or a JWT, a session-shaped stand-in).
    session: Mapping[str, Any] | None = None
    #: The auth module's resolved session object, when the identity came from a real session.
    resolved: Any = None
    credential: CredentialKind | None = None
    #: The API key's better-auth JSON, when an ``x-api-key`` identified the request.
    api_key: Mapping[str, Any] | None = None
    #: The organization an organization-owned API key is pinned to (it acts there only).
    key_organization_id: str | None = None
    #: The organization context: the active organization, else the oldest membership or the key's.
    organization_id: str | None = None
    #: The tenant the tenant module admitted (None when the module is off or none applies).
    tenant: Tenant | None = None
    #: Explicit grants as ``"resource:action"``; empty unless a module contributes some (the member
    #: role's permissions are asked of the organization plugin at the guard, not copied here).
    permissions: frozenset[str] = frozenset()
    #: A presented credential that was refused (an ``ApiError``): the guards answer with it.
    error: Exception | None = None
    #: A refusal the guards raise even for an identified caller (the tenant module's 403 for a
    #: tenant header naming an organization the caller is no member of).
    refusal: Exception | None = None
    #: True when identity could not be resolved because a dependency was down: "cannot tell",
    #: which guards answer with 503, never 401.
    unavailable: bool = False

    @property
    def authenticated(self) -> bool:
        return self.user is not None

    def organization(self) -> str | None:
        """The tenant when one was admitted, else the organization context."""
        return self.tenant.id if self.tenant is not None else self.organization_id


ANONYMOUS = Identity()


def bind(identity: Identity) -> Identity:
    """Make ``identity`` the request's (the auth bridge's call; nobody else writes identity)."""
    setattr(g, _KEY, identity)
    return identity


def is_bound() -> bool:
    """Whether this request's identity was resolved already."""
    return has_app_context() and _KEY in g


def current() -> Identity:
    """The request's identity; anonymous before the bridge ran, outside a request, or without auth."""
    if not has_app_context():
        return ANONYMOUS
    found: Identity = g.get(_KEY, ANONYMOUS)
    return found


def release(_error: BaseException | None = None) -> None:
    """Forget the request's identity (a ``teardown_request`` function, and the bridge's reset)."""
    if has_app_context():
        g.pop(_KEY, None)
