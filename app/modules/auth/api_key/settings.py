"""The api-key plugin's settings (``AUTH__API_KEY__*``), better-auth's ``apiKey()`` options.

A :class:`~app.core.settings.Section` of the plugin's own (it stays one folder). The rate-limit and
expiry defaults are the ones better-auth writes into every new key.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from app.core.settings import Section, current

ENV_PREFIX = "AUTH__API_KEY__"


class ApiKeySettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    #: Request headers that carry a key (better-auth ``apiKeyHeaders``), first match wins.
    headers: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["x-api-key"])
    #: Random characters after the prefix (better-auth ``defaultKeyLength``).
    key_length: int = Field(default=64, ge=32, le=256)
    default_prefix: str | None = Field(default=None, pattern=r"^[a-zA-Z0-9_-]+$")
    min_prefix_length: int = Field(default=1, ge=1)
    max_prefix_length: int = Field(default=32, ge=1)
    min_name_length: int = Field(default=1, ge=1)
    max_name_length: int = Field(default=32, ge=1)
    require_name: bool = False
    #: How many leading characters are kept in ``start`` (0: none), to recognise a key in a UI.
    start_length: int = Field(default=6, ge=0, le=16)
    enable_metadata: bool = False
    #: better-auth ``rateLimit``: written into every new key.
    rate_limit_enabled: bool = True
    rate_limit_time_window: int = Field(default=86_400_000, ge=1, description="milliseconds")
    rate_limit_max: int = Field(default=10, ge=1)
    #: better-auth ``keyExpiration``: seconds for the default, days for the bounds.
    default_expires_in: int | None = Field(default=None, ge=1)
    min_expires_in_days: float = Field(default=1, ge=0)
    max_expires_in_days: float = Field(default=365, ge=0)
    disable_custom_expires_time: bool = False
    #: better-auth ``enableSessionForAPIKeys``: a key authenticates requests and get-session.
    enable_session: bool = True
    #: Roles a key never acts with, whatever its owner holds (a leaked key is no admin).
    excluded_roles: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["admin"])
    #: The ``configId`` of organization-owned keys (better-auth ``references: "organization"``).
    organization_config_id: str = Field(default="organization", min_length=1, max_length=64)

    @field_validator("headers", "excluded_roles", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("headers")
    @classmethod
    def _some_header(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("needs at least one header name")
        return [part.lower() for part in value]


def api_key_settings() -> ApiKeySettings:
    """Shorthand for ``current(ApiKeySettings)``."""
    return current(ApiKeySettings)
