"""The plugin's own settings beyond ``config.KeycloakSettings``: ``KEYCLOAK__PROVISION_ORGANIZATIONS``.

Read like the rest (environment, then the factory's overrides), kept here so the feature stays in
its package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError

ENV_PREFIX = "KEYCLOAK__"


class OidcExtraSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, case_sensitive=False, env_file=".env"
    )

    #: Make or update memberships of existing organizations from ``org-<role>:<slug>`` realm roles
    #: and ``/<slug>`` or ``/<slug>/<role>`` groups at every sign-in.
    provision_organizations: bool = False


def load_extra_settings(app: Flask) -> OidcExtraSettings:
    raw: Mapping[str, Any] = app.config.get("SETTINGS_OVERRIDES") or {}
    fields = set(OidcExtraSettings.model_fields)
    overrides = {
        name: value
        for key, value in raw.items()
        if key.upper().startswith(ENV_PREFIX) and (name := key.upper().removeprefix(ENV_PREFIX).lower()) in fields
    }
    env_file = os.environ.get("APP_ENV_FILE", ".env") or None
    try:
        return OidcExtraSettings(_env_file=env_file, **overrides)
    except ValidationError as error:
        first = error.errors()[0]
        name = f"{ENV_PREFIX}{'__'.join(str(p) for p in first['loc']).upper()}"
        raise ConfigError(f"{name}={first.get('input')!r} is invalid: {first['msg']}") from None
