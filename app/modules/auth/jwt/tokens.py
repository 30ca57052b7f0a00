"""Signing and verifying the session JWTs (RFC 7519), with the key set cached in process.

Verification (RFC 8725, JWT Best Current Practices; OWASP JWT Cheat Sheet):
- the algorithm comes from the key (``kid`` → stored ``alg``), never from the token: ``alg: none``
  and HMAC-with-a-public-key (RFC 8725 §2.1, §3.1) cannot be chosen by an attacker;
- ``iss``, ``aud``, ``exp``, ``iat``, ``sub`` are required and checked (RFC 8725 §3.8, §3.9);
- keys come from an in-process copy of the JWKS, reloaded when a token names an unknown ``kid``
  (at most once per ``refresh_min_interval``, so forged ``kid``s cannot hammer the database): no
  database read per request. A key past its grace period stops verifying.

Signing reuses the decrypted key for ``signing_cache_ttl`` seconds (better-auth reads and decrypts
it on every get-session: their issue #3954). ``session_jwt`` (get-session's ``set-auth-jwt``,
``/token``) hands a session the token it issued less than ``REUSE_SECONDS`` ago instead of signing a
new one per call (better-auth signs each time), when nothing it carries changed: same user data,
same revocation sequence, same signing key. The token is the one a new signature would give but
for ``iat``/``exp`` up to ``REUSE_SECONDS`` earlier; it dies with its session all the same.

The JOSE work is joserfc's (the library Authlib builds on, and the OIDC plugin's): one JOSE stack in
the application. What is ours is better-auth's wire format: the header is ``alg`` and ``kid`` only
(no ``typ``, as its ``jose``-based signer), and the claims are the whole user object.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

from app.modules.auth.jwt.keys import ensure_signing_key, private_jwk, published_keys
from app.modules.auth.jwt.models import Jwks
from app.modules.auth.jwt.settings import JwtSettings, audience, issuer, jwt_settings
from app.modules.auth.models import utcnow

__all__ = ["CLAIMS", "forget_keys", "session_jwt", "sign_session_jwt", "verify_jwt"]

#: Registered claims: what a token adds to the user object it carries.
CLAIMS = frozenset({"iat", "exp", "nbf", "iss", "aud", "sub", "jti", "sid", "rev"})
ALGORITHMS: dict[str, type[Key]] = {"EdDSA": OKPKey, "ES256": ECKey, "RS256": RSAKey}
_EXTENSION = "auth.jwt.cache"
# RFC 9864 names Ed25519 signatures "Ed25519"; better-auth signs and its clients verify "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
#: How many verified tokens a process remembers (each until it expires or its key is withdrawn).
VERIFIED_CACHE_SIZE = 10_000
#: How long a session is handed the same JWT (get-session, /token), seconds; never more than a
#: tenth of the token's lifetime.
REUSE_SECONDS = 30.0


@dataclass
class _Signer:
    kid: str
    alg: str
    key: Any
    expires_at: datetime | None
    loaded_at: float


@dataclass
class _PublicKey:
    alg: str
    key: Any
    published_until: datetime | None


@dataclass
class _Cache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    signer: _Signer | None = None
    public: dict[str, _PublicKey] = field(default_factory=dict)
    public_loaded_at: float | None = None
    #: token -> (payload, kid): tokens whose signature and claims this process already checked
    verified: dict[str, tuple[dict[str, Any], str]] = field(default_factory=dict)
    #: session id -> (token, issued at, kid, rev, user): what ``session_jwt`` handed it last
    issued: dict[str, tuple[str, float, str, int | None, dict[str, Any]]] = field(default_factory=dict)


def _cache(app: Flask | None = None) -> _Cache:
    extensions = (app or current_app).extensions
    cache: _Cache | None = extensions.get(_EXTENSION)
    if cache is None:
        cache = extensions.setdefault(_EXTENSION, _Cache())
    return cache


def forget_keys(app: Flask | None = None) -> None:
    """Drop this process's copies (after a local rotation)."""
    cache = _cache(app)
    with cache.lock:
        cache.signer = None
        cache.public = {}
        cache.public_loaded_at = None
        cache.verified = {}
        cache.issued = {}


def _load_key(row: Jwks, jwk: dict[str, Any]) -> Key:
    key_type = ALGORITHMS.get(row.alg or "EdDSA")
    if key_type is None:
        raise ValueError(f"unsupported JWT algorithm {row.alg!r}")
    return key_type.import_key(jwk)


def _signer(settings: JwtSettings | None = None) -> _Signer:
    cache = _cache()
    signer = cache.signer
    ttl = (jwt_settings() if settings is None else settings).signing_cache_ttl
    if (
        signer is not None
        and time.monotonic() - signer.loaded_at < ttl
        and (signer.expires_at is None or signer.expires_at > utcnow())
    ):
        return signer
    row = ensure_signing_key()
    key = _load_key(row, private_jwk(row))  # KeyUnreadableError: the caller decides what to answer
    signer = _Signer(row.id, row.alg or "EdDSA", key, row.expires_at, time.monotonic())
    cache.signer = signer
    return signer


def sign_session_jwt(user: dict[str, Any], *, session_id: str | None = None, epoch: int | None = None) -> str:
    """better-auth's ``getJwtToken``: the whole user object plus ``sub iat exp iss aud``, and the
    session it came from (``sid``, as OpenID Connect's claim) with the revocation sequence its data
    reflects (``rev``), so revoking the session or changing the user ends the token too."""
    settings = jwt_settings()
    signer = _signer()
    now = int(time.time())
    payload = {"iat": now, **user, "sub": user["id"], "exp": now + settings.expires_in,
               "iss": issuer(), "aud": audience()}
    if session_id is not None:
        payload["sid"] = session_id
    if epoch is not None:
        payload["rev"] = epoch
    header = {"alg": signer.alg, "kid": signer.kid}
    return jwt.encode(header, payload, signer.key, algorithms=[signer.alg], default_type=None)


def session_jwt(user: dict[str, Any], *, session_id: str, epoch: int | None) -> str:
    """``sign_session_jwt`` for a session, reusing the token it was handed within ``REUSE_SECONDS``
    when the user data, the revocation sequence and the signing key are still the same."""
    cache = _cache()
    settings = jwt_settings()
    signer = _signer(settings)
    reuse = min(REUSE_SECONDS, settings.expires_in / 10)
    now = time.time()
    held = cache.issued.get(session_id)
    if held is not None:
        token, issued_at, kid, rev, claims_user = held
        if (now - issued_at < reuse and kid == signer.kid and rev == epoch
                and (claims_user is user or claims_user == user)):
            return token
    token = sign_session_jwt(user, session_id=session_id, epoch=epoch)
    if len(cache.issued) >= VERIFIED_CACHE_SIZE:
        try:
            cache.issued.pop(next(iter(cache.issued)), None)
        except (StopIteration, RuntimeError):
            pass
    cache.issued[session_id] = (token, float(int(now)), signer.kid, epoch, user)
    return token


def _reload_public(cache: _Cache) -> None:
    grace = timedelta(seconds=jwt_settings().grace_period)
    keys: dict[str, _PublicKey] = {}
    for row in published_keys():
        try:
            key = _load_key(row, json.loads(row.public_key))
        except (ValueError, TypeError, JoseError):
            continue
        until = row.expires_at + grace if row.expires_at is not None else None
        keys[row.id] = _PublicKey(row.alg or "EdDSA", key, until)
    cache.public = keys
    cache.public_loaded_at = time.monotonic()


def _public_key(kid: str) -> _PublicKey | None:
    cache = _cache()
    found = cache.public.get(kid)
    if found is not None:
        return found
    with cache.lock:
        found = cache.public.get(kid)
        if found is not None:
            return found
        loaded = cache.public_loaded_at
        if loaded is None or time.monotonic() - loaded >= jwt_settings().refresh_min_interval:
            _reload_public(cache)
        return cache.public.get(kid)


def _verified_before(cache: _Cache, token: str, leeway: int) -> dict[str, Any] | None:
    """A token this process verified already, still unexpired and its key still published: the
    signature of the same bytes under the same key needs no second check (the expensive part)."""
    hit = cache.verified.get(token)
    if hit is None:
        return None
    payload, kid = hit
    entry = cache.public.get(kid)
    if (entry is None or payload["exp"] + leeway <= time.time()
            or (entry.published_until is not None and entry.published_until <= utcnow())):
        cache.verified.pop(token, None)
        return None
    return payload


def _remember(cache: _Cache, token: str, payload: dict[str, Any], kid: str) -> None:
    if len(cache.verified) >= VERIFIED_CACHE_SIZE:
        try:
            cache.verified.pop(next(iter(cache.verified)), None)
        except (StopIteration, RuntimeError):
            pass
    cache.verified[token] = (payload, kid)


def verify_jwt(token: str, settings: JwtSettings | None = None) -> dict[str, Any] | None:
    """The payload of a token we signed and that is still valid, else None. Callers must not
    modify the payload (it may be this process's remembered copy). ``settings``: the caller's
    ``jwt_settings()``, when it has them already."""
    cache = _cache()
    if settings is None:
        settings = jwt_settings()
    remembered = _verified_before(cache, token, settings.leeway)
    if remembered is not None:
        return remembered
    try:
        header: dict[str, Any] = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError):
        return None
    kid = header.get("kid")
    if not isinstance(kid, str) or header.get("alg") not in ALGORITHMS:
        return None
    entry = _public_key(kid)
    if entry is None or header["alg"] != entry.alg:
        return None
    if entry.published_until is not None and entry.published_until <= utcnow():
        return None
    try:
        payload: dict[str, Any] = jwt.decode(token, entry.key, algorithms=[entry.alg]).claims
        jwt.JWTClaimsRegistry(
            leeway=settings.leeway,
            iss={"essential": True, "value": issuer()},
            aud={"essential": True, "value": audience()},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
        ).validate(payload)
    except (JoseError, ValueError):
        return None
    _remember(cache, token, payload, kid)
    return payload
