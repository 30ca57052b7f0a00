"""Keycloak (any OpenID Connect provider) federation settings: ``KEYCLOAK__*``."""

from __future__ import annotations

from pydantic import AnyHttpUrl, model_validator
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section

ENV_PREFIX = "KEYCLOAK__"


class KeycloakSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    enabled: bool = False
    #: The issuer as the server reaches it, e.g. http://keycloak:8080/realms/acme.
    issuer: AnyHttpUrl | None = None
    #: The issuer as browsers reach it, when it differs (containers, split DNS).
    public_url: AnyHttpUrl | None = None
    client_id: str | None = None
    client_secret: str | None = None
    map_roles: bool = False
    map_groups: bool = False
    scopes: str = "openid email profile"
    #: Make or update memberships of existing organizations from ``org-<role>:<slug>`` realm roles
    #: and ``/<slug>`` or ``/<slug>/<role>`` groups at every sign-in.
    provision_organizations: bool = False

    @model_validator(mode="after")
    def _complete(self) -> KeycloakSettings:
        if self.enabled:
            for name in ("issuer", "client_id", "client_secret"):
                if not getattr(self, name):
                    raise ValueError(f"{ENV_PREFIX}{name.upper()} is required when {ENV_PREFIX}ENABLED=true")
        return self
