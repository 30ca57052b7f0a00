"""``x-api-key`` as a credential: who the request is, what it may do (better-auth
``enableSessionForAPIKeys``).

Registered as ``AuthState.credential_resolvers["api-key"]``: a valid user-owned key
identifies the request as its owner, with better-auth's pseudo-session and the key; a refused
key answers an identity whose ``error`` is better-auth's code (401 ``INVALID_API_KEY``, ``KEY_DISABLED``,
``KEY_EXPIRED``, 429 ``USAGE_EXCEEDED``, ``RATE_LIMITED``...).

Keys without a quota are kept in each process's memory after their first use, checked against the
revocation sequence (an update or deletion of the key, any change of its owner ends the copy in
every process): such a request reads nothing from the database and writes nothing to it. A key
with a per-key rate limit is still counted at each request, in its Redis window (one Lua call,
exact and shared by every process; without Redis, or while Redis fails, the request takes the
database path, counted in the row). A key without one gets the ``lastRequest`` time better-auth
stamps written in batches (:mod:`.journal`). Keys with a quota (``remaining``) are read from the
database on every request (a ``SELECT``) and spent exactly from a lease in Redis: a database write
only when a lease is taken, one per block of requests (:mod:`.quota`); without Redis, or while it
fails, spent in the row at each request (:mod:`.usage`).

Least privilege (OWASP ASVS V4.1.3, OWASP API Security Top 10 API5 "Broken Function Level
Authorization"):

- a key's ``permissions`` are authoritative: ``key_permission_check`` answers for any request with
  a key, with no fall-through to the owner's roles or memberships;
- a key never acts with the roles in ``AUTH__API_KEY__EXCLUDED_ROLES`` (``admin``), whatever its
  owner holds: the identity's user is the owner with those roles removed;
- an organization-owned key acts as a service identity pinned to its organization.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, request

from app.core.errors import ApiError
from app.core.identity import Identity
from app.core.outage import warn_every
from app.core.redis import REDIS_ERRORS
from app.extensions import db
from app.modules.auth.api_key import journal, usage
from app.modules.auth.api_key.errors import api_key_error
from app.modules.auth.api_key.keys import hash_key, key_json, load_json
from app.modules.auth.api_key.models import ApiKey
from app.modules.auth.api_key.service import permits, validate_key
from app.modules.auth.api_key.settings import ApiKeySettings, api_key_settings
from app.modules.auth.identity import AuthUser
from app.modules.auth.models import User, utcnow
from app.modules.auth.revocation import known_epoch, revocation_state
from app.modules.auth.serializers import iso, user_json

__all__ = ["key_permission_check", "organization_context_hook", "resolve_api_key"]

_MEMORY = "auth.api_key.memory"
#: A process keeps at most this many keys, each at most this many seconds (and never past a
#: revocation event for the key or its owner: :mod:`app.modules.auth.revocation`).
MEMORY_SIZE = 10_000
MEMORY_TTL = 60.0


@dataclass(frozen=True, slots=True)
class _Copy:
    key: dict[str, Any]  # key_json
    user: dict[str, Any]  # the identity the key acts as
    organization_id: str | None  # an organization key's organization
    expires_at: float | None
    subjects: tuple[str, ...]  # revocation subjects that end the copy
    epoch: int
    filled_at: float
    journaled: bool  # the rate limit is off: better-auth stamps lastRequest on each request
    #: A per-key rate limit counted in Redis: (window ms, max, seed count, seed last ms)
    rate_limit: tuple[int, int, int, int] | None = None


def _presented_key(settings: ApiKeySettings | None = None) -> str | None:
    for header in (api_key_settings() if settings is None else settings).headers:
        value = request.headers.get(header)
        if value:
            return value.strip()
    return None


def _restricted_roles(role: str | None) -> str:
    excluded = set(api_key_settings().excluded_roles)
    kept = [part.strip() for part in (role or "").split(",") if part.strip() and part.strip() not in excluded]
    return ",".join(kept) or "user"


def _pseudo_session(row: ApiKey, key: str, user_id: str, organization_id: str | None) -> dict[str, Any]:
    now = utcnow()
    expires = row.expires_at or now + timedelta(seconds=current_app.config["SETTINGS"].auth.session.expires_in)
    session: dict[str, Any] = {
        "id": row.id,
        "token": key,
        "userId": user_id,
        "expiresAt": iso(expires),
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "ipAddress": g.get("client_ip") or None,
        "userAgent": request.headers.get("User-Agent"),
    }
    if organization_id is not None:  # better-auth's pseudo-session has no such key otherwise
        session["activeOrganizationId"] = organization_id
    return session


def _service_user(row: ApiKey) -> dict[str, Any]:
    """An organization key's identity: the key itself, with no user roles."""
    return {
        "id": row.id,
        "name": row.name or "API key",
        "email": "",
        "emailVerified": False,
        "image": None,
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "role": "",
        "banned": False,
        "apiKey": True,
    }


def _identify(row: ApiKey, key: str) -> Identity:
    settings = api_key_settings()
    if row.config_id == settings.organization_config_id:
        return Identity(
            user=AuthUser(_service_user(row)),
            session=_pseudo_session(row, key, row.id, row.reference_id),
            organization_id=row.reference_id,
            key_organization_id=row.reference_id,  # what the tenant module admits the key to
            error=api_key_error("INVALID_REFERENCE_ID_FROM_API_KEY"),  # not a user session
            api_key=key_json(row),
            credential="api-key",
        )
    user = db.session.get(User, row.reference_id)
    if user is None:
        raise api_key_error("INVALID_REFERENCE_ID_FROM_API_KEY")
    if user.is_banned():
        raise api_key_error("USER_BANNED")
    body = user_json(user)
    body["role"] = _restricted_roles(user.role)
    return Identity(
        user=AuthUser(body), session=_pseudo_session(row, key, user.id, None), api_key=key_json(row),
        credential="api-key",
    )


def _from_memory(key: str) -> Identity | None:
    """Identify from this process's copy of the key, when it has one that may still answer: no
    database read and no write (keys with a quota are never copied). A key with a rate limit is
    counted in Redis first (raises 429 ``RATE_LIMITED``); False when Redis cannot count it."""
    memory: dict[str, _Copy] | None = current_app.extensions.get(_MEMORY)
    if not memory:
        return None
    digest = hash_key(key)
    copy = memory.get(digest)
    if copy is None:
        return None
    state = revocation_state()
    now = time.time()
    if (copy.filled_at + MEMORY_TTL <= now or (copy.expires_at is not None and copy.expires_at <= now)
            or state.undelivered() or not state.subject_valid(copy.epoch, *copy.subjects)):
        memory.pop(digest, None)
        return None
    if copy.rate_limit is not None:
        redis = current_app.extensions.get("redis")
        if redis is None:
            return None
        try:
            usage.count_in_redis(redis, copy.key["id"], *copy.rate_limit)
        except REDIS_ERRORS as error:  # Redis failing: the database path counts in the row (a 429 goes through)
            warn_every("api-key-rate-limit", 60.0, "api-key rate limit falls back to the database: %s", error)
            return None
    now_dt = utcnow()
    if copy.journaled:
        journal.record(copy.key["id"], now_dt)
    identity = Identity(user=AuthUser(copy.user), session=_session_body(copy, key, now_dt), api_key=copy.key,
                        credential="api-key")
    if copy.organization_id is not None:
        identity = replace(identity, organization_id=copy.organization_id,
                           key_organization_id=copy.organization_id,
                           error=api_key_error("INVALID_REFERENCE_ID_FROM_API_KEY"))
    return identity


def _session_body(copy: _Copy, key: str, now: datetime) -> dict[str, Any]:
    stamp = iso(now)
    expires = (copy.key["expiresAt"] if copy.expires_at is not None
               else iso(now + timedelta(seconds=current_app.config["SETTINGS"].auth.session.expires_in)))
    session: dict[str, Any] = {
        "id": copy.key["id"], "token": key, "userId": copy.user["id"], "expiresAt": expires,
        "createdAt": stamp, "updatedAt": stamp, "ipAddress": g.get("client_ip") or None,
        "userAgent": request.headers.get("User-Agent"),
    }
    if copy.organization_id is not None:
        session["activeOrganizationId"] = copy.organization_id
    return session


def _remember(key: str, row: ApiKey, epoch: int, identity: Identity) -> None:
    settings = api_key_settings()
    rate_limited = bool(settings.rate_limit_enabled and row.rate_limit_enabled and row.rate_limit_time_window
                        and row.rate_limit_max)
    if row.remaining is not None or epoch < 0 or identity.user is None or identity.api_key is None:
        return
    if rate_limited and current_app.extensions.get("redis") is None:
        return  # counted in the row: each request reads it
    memory: dict[str, _Copy] = current_app.extensions.setdefault(_MEMORY, {})
    if len(memory) >= MEMORY_SIZE:
        try:
            memory.pop(next(iter(memory)), None)
        except (StopIteration, RuntimeError):
            pass
    organization_id = row.reference_id if row.config_id == settings.organization_config_id else None
    memory[hash_key(key)] = _Copy(
        key=dict(identity.api_key), user=dict(identity.user.json), organization_id=organization_id,
        expires_at=row.expires_at.timestamp() if row.expires_at is not None else None,
        subjects=("k:" + row.id, "u:" + row.reference_id), epoch=epoch, filled_at=time.time(),
        journaled=not (settings.rate_limit_enabled and row.rate_limit_enabled),
        rate_limit=usage.seeds(row) if rate_limited else None,
    )


def resolve_api_key() -> Identity | None:
    """The credential resolver: None when the request presents no key, else what the key establishes."""
    settings = api_key_settings()  # once: every request without a key passes here
    if not settings.enable_session:
        return None
    key = _presented_key(settings)
    if key is None:
        return None
    epoch = known_epoch()  # before any read: what a copy made now reflects
    try:
        remembered = _from_memory(key)
        if remembered is not None:
            return remembered
        if len(key) < api_key_settings().key_length:
            # better-auth's session hook refuses a key shorter than any it issues with 403, before any lookup
            raise api_key_error("INVALID_API_KEY", status=403)
        row = validate_key(key)
        identity = _identify(row, key)
        _remember(key, row, epoch, identity)
    except ApiError as error:
        return Identity(error=error)  # a key was presented: no other credential stands in for a refused one
    return identity


def key_permission_check(identity: Identity, permissions: Mapping[str, Sequence[str]]) -> bool | None:
    """``AuthState.key_permission_check``: None without a key, else whether the key's own grants allow it."""
    api_key = identity.api_key
    if not api_key:
        return None
    stored = api_key.get("permissions")
    if isinstance(stored, str):
        stored = load_json(stored)
    return permits(stored, permissions)


def organization_context_hook(identity: Identity) -> Identity:
    """An organization key acts only within its organization, whatever another hook chose."""
    api_key = identity.api_key
    if api_key and api_key.get("configId") == api_key_settings().organization_config_id:
        return replace(identity, organization_id=api_key["referenceId"])
    return identity
