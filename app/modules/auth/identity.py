"""Who is asking: the session behind the request, resolved once per request and kept in ``g``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, g, request
from flask_login import UserMixin

from app.core.outage import is_outage, rollback_quietly, service_unavailable, warn_every
from app.modules.auth.cookies import token_from_request
from app.modules.auth.sessions import ResolvedSession, resolve_token

log = logging.getLogger(__name__)


class AuthUser(UserMixin):  # type: ignore[misc]
    """The signed-in user as routes and templates see it (``g.user``, Flask-Login's ``current_user``).

    Built from the session's user object; attribute names are snake_case, ``json`` is the
    better-auth shape.
    """

    __slots__ = ("json",)

    def __init__(self, json: Mapping[str, Any]) -> None:
        self.json = dict(json)

    @property
    def id(self) -> str:
        value: str = self.json["id"]
        return value

    def get_id(self) -> str:
        return self.id

    @property
    def email(self) -> str:
        value: str = self.json["email"]
        return value

    @property
    def name(self) -> str:
        value: str = self.json["name"]
        return value

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in (self.json.get("role") or "").split(",") if r.strip())

    def __getattr__(self, name: str) -> Any:
        camel = "".join(p if i == 0 else p.capitalize() for i, p in enumerate(name.split("_")))
        try:
            return self.json[camel]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"<AuthUser {self.id}>"


def reset_identity() -> None:
    """Fresh per-request state: nothing carries over from a previous request."""
    g.user = None
    g.session = None
    g.auth_session = None
    g.auth_source = None
    g.permissions = frozenset()
    g.api_key = None
    #: The organization an organization-owned API key is scoped to (the key acts there only).
    g.api_key_organization_id = None
    g.organization_id = None
    g.tenant = None
    g.auth_error = None
    #: True when identity could not be resolved because a dependency (the database, or the cache
    #: and then the database) was down: "cannot tell", which guards answer with 503, never 401.
    g.auth_unavailable = False
    g.auth_resolved = False


def _set_session(resolved: ResolvedSession, source: str | None) -> None:
    g.auth_session = resolved
    g.auth_source = source
    g.session = resolved.session
    g.user = AuthUser(resolved.user)
    g.organization_id = resolved.session.get("activeOrganizationId")


def resolve_identity() -> ResolvedSession | None:
    """Resolve the request's credentials into ``g`` (once per request). Never raises.

    Precedence (better-auth's, one list): explicit credentials first, and an explicit credential
    that fails fails the request, never falling back to the ambient cookie:

    1. ``x-api-key`` (the api-key plugin's resolver, when sessions for API keys are on);
    2. ``Authorization: Bearer`` with a JWT (the jwt plugin's resolver);
    3. ``Authorization: Bearer`` with a session token;
    4. the session cookie, only when no explicit credential was presented.

    Plugin resolvers live in ``app.extensions["auth.credential_resolvers"]``: each sets ``g`` itself
    and returns True when it handled the request (identified, or refused with ``g.auth_error``).
    Once someone is known, the ``auth.context_hooks`` fill the rest of ``g`` (the organization
    context). A dependency outage leaves the request without identity and sets
    ``g.auth_unavailable``. Returns the session when the identity came from one.
    """
    if g.get("auth_resolved"):
        resolved: ResolvedSession | None = g.auth_session
        return resolved
    reset_identity()
    g.auth_resolved = True
    extensions = current_app.extensions
    try:
        handled = False
        for resolver in extensions.get("auth.credential_resolvers", ()):
            if resolver():
                handled = True
                break
        if not handled:
            token, source = token_from_request(request)
            resolved = resolve_token(token) if token else None
            if resolved is not None:
                _set_session(resolved, source)
        if g.user is not None:
            for hook in extensions.get("auth.context_hooks", ()):
                hook()
    except Exception as error:
        reset_identity()
        g.auth_resolved = True
        if is_outage(error):
            rollback_quietly()
            g.auth_unavailable = True
            warn_every("identity-outage", 5.0, "identity unknown, a dependency is down: %s", error)
        else:
            log.exception("session resolution failed; request continues anonymous")
        return None
    session: ResolvedSession | None = g.auth_session
    return session


def identity_unavailable() -> bool:
    """True when this request's identity is unknown because of an outage (not because it has none)."""
    return bool(g.get("auth_unavailable"))


def raise_if_unavailable() -> None:
    """503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` when identity could not be resolved."""
    if g.get("auth_unavailable") and g.get("user") is None:
        raise service_unavailable()


def current_session() -> ResolvedSession | None:
    return resolve_identity()
