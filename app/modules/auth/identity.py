"""Who is asking: the request's credentials resolved once into its :class:`~app.core.identity.Identity`.

This file is the bridge's half that writes identity (``bind``); nothing else does."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from flask import current_app, request
from flask_login import UserMixin

from app.core.identity import (
    ANONYMOUS,
    CREDENTIAL_PRECEDENCE,
    CredentialKind,
    Identity,
    bind,
    current,
    is_bound,
    release,
)
from app.core.outage import is_outage, rollback_quietly, service_unavailable, warn_every
from app.modules.auth.cookies import token_from_request
from app.modules.auth.sessions import ResolvedSession, resolve_token
from app.modules.auth.state import CredentialResolver, auth_state

log = logging.getLogger(__name__)


class AuthUser(UserMixin):  # type: ignore[misc]
    """The signed-in user as routes and templates see it (``current().user``, Flask-Login's ``current_user``).

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
    release()


def session_identity(resolved: ResolvedSession, credential: CredentialKind) -> Identity:
    """The identity a session establishes (a bearer session token or the cookie)."""
    return Identity(
        user=AuthUser(resolved.user),
        session=resolved.session,
        resolved=resolved,
        credential=credential,
        organization_id=resolved.session.get("activeOrganizationId"),
    )


def _session_resolvers() -> dict[CredentialKind, CredentialResolver]:
    """The session token's two ways in: ``bearer`` (explicit) and ``cookie`` (ambient). A bearer
    header that does not verify decides (anonymous): the cookie is then never read."""
    presented: list[tuple[str | None, str | None]] = []

    def token() -> tuple[str | None, str | None]:
        if not presented:
            presented.append(token_from_request(request))
        return presented[0]

    def resolver(kind: CredentialKind) -> CredentialResolver:
        def resolve() -> Identity | None:
            value, source = token()
            if source != kind:
                return None
            resolved = resolve_token(value) if value else None
            return session_identity(resolved, kind) if resolved is not None else ANONYMOUS

        return resolve

    return {"bearer": resolver("bearer"), "cookie": resolver("cookie")}


def _resolve() -> Identity:
    """The first credential of ``CREDENTIAL_PRECEDENCE`` the request presents decides."""
    state = auth_state()
    resolvers = {**state.credential_resolvers, **_session_resolvers()}
    identity = ANONYMOUS
    for kind in CREDENTIAL_PRECEDENCE:
        resolve = resolvers.get(kind)
        found = resolve() if resolve is not None else None
        if found is not None:
            identity = found
            break
    if identity.user is not None:
        for hook in state.context_hooks:
            identity = hook(identity)
    return identity


def _contribute(identity: Identity) -> Identity:
    """Every other enabled module adds its context through its declared hook."""
    from app.modules import registry

    for module in registry(current_app).modules:
        if module.name != "auth":
            identity = module.contribute_identity(identity)
    return identity


def resolve_identity() -> ResolvedSession | None:
    """Resolve the request's credentials into its :class:`Identity` (once per request). Never raises.

    Precedence is :data:`app.core.identity.CREDENTIAL_PRECEDENCE` (better-auth's): explicit
    credentials first, and an explicit credential that fails fails the request, never falling back
    to the ambient cookie:

    1. ``x-api-key`` (the api-key plugin's resolver, when sessions for API keys are on);
    2. ``Authorization: Bearer`` with a JWT (the jwt plugin's resolver);
    3. ``Authorization: Bearer`` with a session token;
    4. the session cookie, only when no explicit credential was presented.

    Plugins register their resolver by kind in ``AuthState.credential_resolvers``; each returns the
    identity it establishes (with ``error`` when it refused the credential) or None when the
    request does not present it. Once someone is known, ``AuthState.context_hooks`` add the
    organization context, then every other module's ``contribute_identity`` (the tenant). A
    dependency outage binds an identity with ``unavailable`` set. Returns the session when the
    identity came from one.
    """
    if is_bound():
        known: ResolvedSession | None = current().resolved
        return known
    try:
        identity = _contribute(_resolve())
    except Exception as error:
        identity = ANONYMOUS
        if is_outage(error):
            rollback_quietly()
            identity = Identity(unavailable=True)
            warn_every("identity-outage", 5.0, "identity unknown, a dependency is down: %s", error)
        else:
            log.exception("session resolution failed; request continues anonymous")
    bind(identity)
    session: ResolvedSession | None = identity.resolved
    return session


def rebind_session(resolved: ResolvedSession) -> None:
    """The same session, refreshed (``get-session`` extended its expiry)."""
    bind(replace(current(), resolved=resolved, session=resolved.session))


def identity_unavailable() -> bool:
    """True when this request's identity is unknown because of an outage (not because it has none)."""
    return current().unavailable


def raise_if_unavailable() -> None:
    """503 ``SERVICE_UNAVAILABLE`` with ``Retry-After`` when identity could not be resolved."""
    identity = current()
    if identity.unavailable and identity.user is None:
        raise service_unavailable()


def current_session() -> ResolvedSession | None:
    return resolve_identity()
