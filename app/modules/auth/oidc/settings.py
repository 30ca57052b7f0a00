"""The plugin's own settings beyond ``config.KeycloakSettings``: ``KEYCLOAK__PROVISION_ORGANIZATIONS``.

Read like the rest (environment, then the factory's overrides), kept here so the feature stays in
its package.
"""

from __future__ import annotations

from flask import Flask
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import load_section

ENV_PREFIX = "KEYCLOAK__"


class OidcExtraSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, case_sensitive=False, env_file=".env"
    )

    #: Make or update memberships of existing organizations from ``org-<role>:<slug>`` realm roles
    #: and ``/<slug>`` or ``/<slug>/<role>`` groups at every sign-in.
    provision_organizations: bool = False


def load_extra_settings(app: Flask) -> OidcExtraSettings:
    return load_section(OidcExtraSettings, app.config.get("SETTINGS_OVERRIDES"))


