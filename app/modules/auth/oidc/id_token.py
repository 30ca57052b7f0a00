"""ID token validation, OpenID Connect Core 1.0 §3.1.3.7, with the JWT BCP (RFC 8725).

What is checked, and why:

- The signature, with a key from the provider's JWKS (RFC 7517) chosen by ``kid``. An unknown
  ``kid`` refetches the JWKS once (the provider rotated its keys), at most every
  ``MIN_REFRESH_INTERVAL`` seconds so forged tokens cannot make us hammer the provider.
- ``alg`` from an allowlist of asymmetric algorithms only (RFC 8725 §3.1): never ``none``, never
  HMAC (whose "key" would be our public JWKS, the classic key-confusion attack), and the key's
  type must fit the algorithm (an RSA key never verifies an EC signature and so on).
- ``iss`` equals the provider's issuer (§3.1.3.7 step 2), ``aud`` contains our client id and, with
  several audiences, ``azp`` is our client id (steps 3-5), ``exp`` is in the future and ``iat``
  present (steps 9-10), with a small leeway for clock skew.
- ``nonce`` equals the one we sent (step 11), compared in constant time: it binds the token to this
  browser's authorization request, so a token replayed from elsewhere is refused.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import requests
from jwt.algorithms import get_default_algorithms

#: Asymmetric JWS algorithms we accept (RFC 7518 §3.1 minus HMAC and "none").
ALLOWED_ALGS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
LEEWAY = 60
MIN_REFRESH_INTERVAL = 10.0
TIMEOUT = 10.0


class IdTokenError(ValueError):
    """The ID token is not acceptable; the message says which check failed (for logs only)."""


JwksFetcher = Callable[[], dict[str, Any]]


def http_jwks(uri: str) -> JwksFetcher:
    """A fetcher that GETs the JWKS document at ``uri``."""

    def fetch() -> dict[str, Any]:
        response = requests.get(uri, timeout=TIMEOUT, headers={"Accept": "application/json"})
        response.raise_for_status()
        doc = response.json()
        if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
            raise IdTokenError("the JWKS document has no keys")
        return doc

    return fetch


class JwksCache:
    """The provider's signing keys by ``kid``, refetched on an unknown ``kid`` (rate-limited)."""

    def __init__(self, fetch: JwksFetcher, *, min_refresh_interval: float = MIN_REFRESH_INTERVAL) -> None:
        self._fetch = fetch
        self._min_interval = min_refresh_interval
        self._lock = threading.Lock()
        self._keys: dict[str | None, dict[str, Any]] | None = None
        self._refreshed_at = float("-inf")

    def _load(self) -> dict[str | None, dict[str, Any]]:
        try:
            doc = self._fetch()
        except (requests.RequestException, ValueError) as error:
            raise IdTokenError(f"could not fetch the JWKS: {error}") from None
        keys: dict[str | None, dict[str, Any]] = {}
        for jwk in doc.get("keys", []):
            if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig":
                keys[jwk.get("kid")] = jwk
        return keys

    def key(self, kid: str | None) -> dict[str, Any]:
        """The JWK for ``kid``; raises :class:`IdTokenError` when the provider has none."""
        with self._lock:
            if self._keys is None:
                self._keys = self._load()
                self._refreshed_at = time.monotonic()
            found = self._keys.get(kid)
            if found is None and time.monotonic() - self._refreshed_at >= self._min_interval:
                self._keys = self._load()
                self._refreshed_at = time.monotonic()
                found = self._keys.get(kid)
            if found is None and kid is None and len(self._keys) == 1:
                found = next(iter(self._keys.values()))  # a provider with one key may omit kid
        if found is None:
            raise IdTokenError(f"no key with kid {kid!r} in the provider's JWKS")
        return found


def _header(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise IdTokenError(f"malformed ID token: {error}") from None
    return header


def _public_key(jwk: dict[str, Any], alg: str) -> Any:
    kty = _KEY_TYPE.get(alg[:2])
    if jwk.get("kty") != kty:
        raise IdTokenError(f"key type {jwk.get('kty')!r} does not fit alg {alg}")
    if jwk.get("alg") not in (None, alg):
        raise IdTokenError(f"key is for alg {jwk.get('alg')!r}, token says {alg}")
    try:
        return get_default_algorithms()[alg].from_jwk(json.dumps(jwk))
    except (KeyError, ValueError, jwt.PyJWTError) as error:
        raise IdTokenError(f"unusable JWK: {error}") from None


def verify_id_token(
    token: str,
    *,
    keys: JwksCache,
    issuers: Iterable[str],
    client_id: str,
    nonce: str,
    algorithms: Iterable[str] = ALLOWED_ALGS,
    now: float | None = None,
) -> dict[str, Any]:
    """The ID token's claims after every check of OIDC Core §3.1.3.7; raises :class:`IdTokenError`."""
    header = _header(token)
    alg = header.get("alg")
    allowed = ALLOWED_ALGS.intersection(algorithms)
    if not isinstance(alg, str) or alg not in allowed:
        raise IdTokenError(f"alg {alg!r} is not allowed")
    key = _public_key(keys.key(header.get("kid")), alg)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[alg],
            audience=client_id,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat"], "verify_iss": False},
        )
    except jwt.PyJWTError as error:
        raise IdTokenError(f"ID token rejected: {type(error).__name__}: {error}") from None
    if now is not None and claims["exp"] + LEEWAY <= now:
        raise IdTokenError("ID token expired")
    if claims["iss"] not in set(issuers):
        raise IdTokenError(f"iss {claims['iss']!r} is not the provider's issuer")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenError("several audiences and azp is not our client id")
    given = claims.get("nonce")
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), nonce.encode()):
        raise IdTokenError("nonce does not match the authorization request")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise IdTokenError("sub is empty")
    return claims
