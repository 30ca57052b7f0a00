"""The organization plugin's settings (``AUTH__ORGANIZATION__*``), with better-auth's defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import ConfigError

ENV_PREFIX = "AUTH__ORGANIZATION__"


class OrganizationSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, case_sensitive=False, env_file=".env"
    )

    allow_user_to_create_organization: bool = True
    #: Organizations one user may belong to when creating another; None: no limit.
    organization_limit: int | None = Field(default=None, ge=1)
    membership_limit: int = Field(default=100, ge=1)
    invitation_limit: int = Field(default=100, ge=1)
    #: Seconds an invitation stays valid (better-auth: 48 h).
    invitation_expires_in: int = Field(default=172_800, ge=60)
    cancel_pending_invitations_on_re_invite: bool = False
    #: The link mailed with an invitation; ``{base_url}`` and ``{id}`` are filled in.
    invitation_url: str = "{base_url}/accept-invitation/{id}"


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    name = ENV_PREFIX + "__".join(str(part) for part in first["loc"]).upper()
    return f"{name}={first.get('input')!r} is invalid: {first['msg']}"


def load_organization_settings(app: Flask) -> OrganizationSettings:
    """Environment, then the factory's overrides; a bad value raises ``ConfigError`` naming it."""
    raw: Mapping[str, Any] = app.config.get("SETTINGS_OVERRIDES") or {}
    overrides = {
        key.upper().removeprefix(ENV_PREFIX).lower(): value
        for key, value in raw.items()
        if key.upper().startswith(ENV_PREFIX)
    }
    env_file = os.environ.get("APP_ENV_FILE", ".env") or None
    try:
        return OrganizationSettings(_env_file=env_file, **overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error)) from None


def org_settings() -> OrganizationSettings:
    found: OrganizationSettings = current_app.extensions["auth.organization.settings"]
    return found
