"""ID token validation, OpenID Connect Core 1.0 §3.1.3.7, on joserfc and Authlib's ``CodeIDToken``.

The signature is checked by joserfc (the JOSE library Authlib builds on), the claims by Authlib's
OpenID Connect claims (``iss``, ``aud``, ``azp`` with several audiences, ``exp``/``iat`` with
``LEEWAY`` seconds of clock skew, ``nonce``, ``at_hash``). What stays here is what neither library
decides for a relying party (RFC 8725, the JWT BCP):

- ``alg`` from an allowlist of asymmetric algorithms only (§3.1): never ``none``, never HMAC (whose
  "key" would be our public JWKS, the classic key-confusion attack), and the key's type and pinned
  ``alg`` must fit the token's.
- The provider's keys (RFC 7517) cached by ``kid``: an unknown ``kid`` refetches the JWKS once (the
  provider rotated its keys), at most every ``MIN_REFRESH_INTERVAL`` seconds, so forged tokens
  cannot make us hammer the provider.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import requests
from authlib.oidc.core import CodeIDToken
from joserfc import jws, jwt
from joserfc.errors import JoseError, SecurityWarning
from joserfc.jwk import Key, KeySet

#: Asymmetric JWS algorithms we accept (RFC 7518 §3.1 minus HMAC and "none").
ALLOWED_ALGS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_KEY_TYPE = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
LEEWAY = 60
# RFC 9864 names Ed25519 signatures "Ed25519"; providers still advertise and sign "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated", category=SecurityWarning)
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
    """The provider's signing keys (a joserfc ``KeySet``), refetched on an unknown ``kid`` (rate-limited)."""

    def __init__(self, fetch: JwksFetcher, *, min_refresh_interval: float = MIN_REFRESH_INTERVAL) -> None:
        self._fetch = fetch
        self._min_interval = min_refresh_interval
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._refreshed_at = float("-inf")

    def _load(self) -> KeySet:
        try:
            doc = self._fetch()
            signing = [jwk for jwk in doc.get("keys", []) if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig"]
            keys = KeySet.import_key_set({"keys": signing})
        except (requests.RequestException, ValueError, JoseError) as error:
            raise IdTokenError(f"could not fetch the JWKS: {error}") from None
        self._refreshed_at = time.monotonic()
        return keys

    @staticmethod
    def _find(keys: KeySet, kid: str | None) -> Key | None:
        if kid is None:
            return keys.keys[0] if len(keys.keys) == 1 else None  # a provider with one key may omit kid
        return next((key for key in keys.keys if key.kid == kid), None)

    def key(self, kid: str | None) -> Key:
        """The key for ``kid``; raises :class:`IdTokenError` when the provider has none."""
        with self._lock:
            if self._keys is None:
                self._keys = self._load()
            found = self._find(self._keys, kid)
            if found is None and time.monotonic() - self._refreshed_at >= self._min_interval:
                self._keys = self._load()
                found = self._find(self._keys, kid)
        if found is None:
            raise IdTokenError(f"no key with kid {kid!r} in the provider's JWKS")
        return found


def _header(token: str) -> dict[str, Any]:
    try:
        header: dict[str, Any] = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as error:
        raise IdTokenError(f"malformed ID token: {error}") from None
    return header


def _check_key(key: Key, alg: str) -> None:
    if key.key_type != _KEY_TYPE.get(alg[:2]):
        raise IdTokenError(f"key type {key.key_type!r} does not fit alg {alg}")
    if key.alg not in (None, alg):
        raise IdTokenError(f"key is for alg {key.alg!r}, token says {alg}")


def verify_id_token(
    token: str,
    *,
    keys: JwksCache,
    issuers: Iterable[str],
    client_id: str,
    nonce: str,
    algorithms: Iterable[str] = ALLOWED_ALGS,
    now: float | None = None,
    access_token: str | None = None,
) -> dict[str, Any]:
    """The ID token's claims after every check of OIDC Core §3.1.3.7; raises :class:`IdTokenError`."""
    header = _header(token)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALLOWED_ALGS.intersection(algorithms):
        raise IdTokenError(f"alg {alg!r} is not allowed")
    key = keys.key(header.get("kid"))
    _check_key(key, alg)
    try:
        decoded = jwt.decode(token, key, algorithms=[alg])
        essential = {"essential": True}
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={
                "iss": {"essential": True, "values": sorted(set(issuers))},
                "aud": {"essential": True, "value": client_id},
                "sub": essential.copy(),
                "exp": essential.copy(),
                "iat": essential.copy(),
                "nonce": essential.copy(),
            },
            params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(now=int(now if now is not None else time.time()), leeway=LEEWAY)
    except (JoseError, ValueError) as error:
        raise IdTokenError(f"ID token rejected: {type(error).__name__}: {error}") from None
    if not isinstance(claims["sub"], str):
        raise IdTokenError("sub is not a string")
    return dict(claims)
