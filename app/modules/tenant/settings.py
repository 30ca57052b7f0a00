"""The tenant module's own settings (``MODULES__TENANT__*``); ``MODULES__TENANT`` itself is the toggle."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError

ENV_PREFIX = "MODULES__TENANT__"


class TenantSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, case_sensitive=False, env_file=".env"
    )

    #: The request header that selects a tenant (an organization id); empty: no header source.
    header: str = Field(default="X-Tenant-ID", max_length=64)
    #: Resolve ``<slug>.<base_domain>`` hosts to the organization with that slug.
    subdomain: bool = False
    base_domain: str | None = Field(default=None, max_length=253)
    #: PostgreSQL only: also set ``app.tenant_id`` per transaction for the row-level-security policies.
    row_level_security: bool = False

    @model_validator(mode="after")
    def _subdomain_needs_base(self) -> TenantSettings:
        if self.subdomain and not self.base_domain:
            raise ValueError("MODULES__TENANT__SUBDOMAIN=true needs MODULES__TENANT__BASE_DOMAIN")
        return self


def load_tenant_settings(app: Flask) -> TenantSettings:
    """Environment, then the factory's overrides; a bad value raises ``ConfigError`` naming it."""
    raw: Mapping[str, Any] = app.config.get("SETTINGS_OVERRIDES") or {}
    overrides = {
        key.upper().removeprefix(ENV_PREFIX).lower(): value
        for key, value in raw.items()
        if key.upper().startswith(ENV_PREFIX)
    }
    env_file = os.environ.get("APP_ENV_FILE", ".env") or None
    try:
        return TenantSettings(_env_file=env_file, **overrides)
    except ValidationError as error:
        first = error.errors()[0]
        name = ENV_PREFIX + "__".join(str(part) for part in first["loc"]).upper()
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{name}={first.get('input')!r} is invalid: {message}" if first["loc"] else message) from None
