"""The configured provider of one app: its settings, discovery cache and JWKS cache.

Held in ``app.extensions["auth.oidc"]`` (None when ``KEYCLOAK__ENABLED`` is off). Both caches are
per process: they hold public data only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from flask import current_app

from app.modules.auth.oidc.client import ClientConfig
from app.modules.auth.oidc.discovery import Discovery, ProviderMetadata
from app.modules.auth.oidc.id_token import JwksCache, http_jwks


@dataclass
class Federation:
    provider_id: str
    client: ClientConfig
    discovery: Discovery
    map_roles: bool
    map_groups: bool
    provision_organizations: bool
    _jwks: dict[str, JwksCache] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def metadata(self) -> ProviderMetadata:
        return self.discovery.get()

    def jwks(self, metadata: ProviderMetadata) -> JwksCache:
        """The key cache for the document's ``jwks_uri`` (a new URI gets a new cache)."""
        with self._lock:
            cache = self._jwks.get(metadata.jwks_uri)
            if cache is None:
                cache = self._jwks[metadata.jwks_uri] = JwksCache(http_jwks(metadata.jwks_uri))
            return cache


def federation() -> Federation | None:
    found: Federation | None = current_app.extensions.get("auth.oidc")
    return found
