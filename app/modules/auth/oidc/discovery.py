"""The provider's metadata, from OpenID Connect Discovery 1.0 (and RFC 8414), cached per process.

The document is checked by Authlib's ``OpenIDProviderMetadata`` (every value it knows: required
fields, JSON types, ``RS256`` among the ID token algorithms...), except its "https only" rule on the
issuer and endpoints: whether plain HTTP is acceptable is the operator's choice of
``KEYCLOAK__ISSUER`` (a provider in the same private network, development). What stays here is ours:
the issuer check below, the URL rewriting for ``KEYCLOAK__PUBLIC_URL`` and the per-process cache.

Why cached in memory: the document is public and changes rarely; every process may hold its own
copy (nothing here must be shared between workers). It is refetched after ``TTL`` seconds, and a
failed fetch is retried at the next request rather than remembered.

Discovery 1.0 §4.3: the ``issuer`` in the document must be the issuer we asked (or its public
spelling, see below), else the document is refused: a provider cannot claim another's identity.

``KEYCLOAK__PUBLIC_URL``: in containers the server reaches the provider at an internal address
(``http://keycloak:8080/realms/acme``) while browsers use a public one. Browser-facing endpoints
(authorization, end session) are rewritten to the public prefix; server-facing ones (token, JWKS,
userinfo) to the internal prefix.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url

TIMEOUT = 10.0
TTL = 3600.0


class DiscoveryError(RuntimeError):
    """The discovery document could not be fetched or is not acceptable."""


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """What the flow needs of the discovery document, with URLs already rewritten."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    end_session_endpoint: str | None
    #: RFC 9207 §3: when true, an authorization response without ``iss`` is refused.
    iss_parameter_supported: bool
    id_token_algs: tuple[str, ...]
    #: Every spelling of the issuer we accept in ``iss`` (internal and public).
    accepted_issuers: frozenset[str]


def _strip(url: str | None) -> str | None:
    return str(url).rstrip("/") if url else None


def _rewrite(url: str | None, old: str | None, new: str | None) -> str | None:
    if not url or not old or not new or old == new:
        return url
    if url == old or url.startswith(old + "/"):
        return new + url[len(old) :]
    return url


#: Validators of Authlib's that insist on https; these fields are only checked to be present here.
_TRANSPORT_CHECKED = frozenset(
    {"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"}
)


def _validate(doc: dict[str, Any]) -> OpenIDProviderMetadata:
    metadata = OpenIDProviderMetadata(doc)
    try:
        for key in OpenIDProviderMetadata.REGISTRY_KEYS:
            if key not in _TRANSPORT_CHECKED:
                getattr(metadata, f"validate_{key}")()
    except ValueError as error:
        raise DiscoveryError(f"discovery document refused: {error}") from None
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(doc.get(field), str):
            raise DiscoveryError(f"discovery document has no {field}")
    return metadata


def parse_metadata(doc: dict[str, Any], issuer: str, public_url: str | None = None) -> ProviderMetadata:
    """Check and rewrite a discovery document (Discovery 1.0 §3, §4.3)."""
    internal = issuer.rstrip("/")
    public = _strip(public_url) or internal
    claimed = doc.get("issuer")
    if not isinstance(claimed, str) or claimed.rstrip("/") not in {internal, public}:
        raise DiscoveryError(f"discovery issuer {claimed!r} is not {internal!r}")
    meta = _validate(doc)
    claimed_base = claimed.rstrip("/")
    # Browser-facing URLs go public; server-facing ones go internal.
    browser_base = internal if claimed_base == public else claimed_base

    def to_public(url: str | None) -> str | None:
        return _rewrite(url, browser_base, public)

    def to_internal(url: str | None) -> str | None:
        return _rewrite(url, public, internal)

    algs = meta.id_token_signing_alg_values_supported
    return ProviderMetadata(
        issuer=claimed,
        authorization_endpoint=str(to_public(doc["authorization_endpoint"])),
        token_endpoint=str(to_internal(doc["token_endpoint"])),
        jwks_uri=str(to_internal(doc["jwks_uri"])),
        userinfo_endpoint=to_internal(doc.get("userinfo_endpoint")),
        end_session_endpoint=to_public(doc.get("end_session_endpoint")),
        iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported") is True,
        id_token_algs=tuple(str(a) for a in algs),
        # Exactly the document's issuer (Core §3.1.3.7 step 2); with a public URL configured, also
        # the other spelling of the same realm, as split-hostname Keycloaks mint either.
        accepted_issuers=frozenset({claimed, internal, public} if public_url else {claimed}),
    )


class Discovery:
    """Fetches and caches one provider's metadata; thread-safe."""

    def __init__(self, issuer: str, public_url: str | None = None, *, ttl: float = TTL) -> None:
        self.issuer = issuer.rstrip("/")
        self.public_url = public_url.rstrip("/") if public_url else None
        self.ttl = ttl
        self._lock = threading.Lock()
        self._metadata: ProviderMetadata | None = None
        self._fetched_at = 0.0

    @property
    def url(self) -> str:
        return str(get_well_known_url(self.issuer, external=True))

    def fetch(self) -> ProviderMetadata:
        """Always ask the provider (readiness uses this); refreshes the cache on success."""
        try:
            response = requests.get(self.url, timeout=TIMEOUT, headers={"Accept": "application/json"})
            response.raise_for_status()
            doc = response.json()
        except (requests.RequestException, ValueError) as error:
            raise DiscoveryError(f"discovery at {self.url} failed: {error}") from None
        if not isinstance(doc, dict):
            raise DiscoveryError("discovery document is not a JSON object")
        metadata = parse_metadata(doc, self.issuer, self.public_url)
        with self._lock:
            self._metadata, self._fetched_at = metadata, time.monotonic()
        return metadata

    def get(self) -> ProviderMetadata:
        """The cached metadata, fetched when missing or older than the TTL."""
        with self._lock:
            metadata, fetched_at = self._metadata, self._fetched_at
        if metadata is not None and time.monotonic() - fetched_at < self.ttl:
            return metadata
        return self.fetch()
