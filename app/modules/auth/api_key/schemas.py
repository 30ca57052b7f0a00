"""Request and response schemas of the api-key routes (``@better-auth/api-key`` zod schemas)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from app.core.api import MAX_OFFSET, ApiModel

Millis = Annotated[int, Field(ge=0, le=10 * 365 * 86_400_000)]

#: Body fields only the server may set; from HTTP they are 400 SERVER_ONLY_PROPERTY.
SERVER_ONLY = ("remaining", "refill_amount", "refill_interval", "rate_limit_enabled",
               "rate_limit_time_window", "rate_limit_max", "permissions")


class _KeyBody(ApiModel):
    config_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="configId")
    name: Annotated[str, Field(max_length=255)] | None = None
    expires_in: Annotated[int, Field(ge=1, le=100 * 365 * 86400)] | None = Field(default=None, alias="expiresIn")
    metadata: Any = None
    remaining: Annotated[int, Field(ge=0)] | None = None
    refill_amount: Annotated[int, Field(ge=1)] | None = Field(default=None, alias="refillAmount")
    refill_interval: Millis | None = Field(default=None, alias="refillInterval")
    rate_limit_enabled: bool | None = Field(default=None, alias="rateLimitEnabled")
    rate_limit_time_window: Millis | None = Field(default=None, alias="rateLimitTimeWindow")
    rate_limit_max: Annotated[int, Field(ge=0)] | None = Field(default=None, alias="rateLimitMax")
    permissions: dict[str, list[str]] | None = None
    user_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="userId")


class CreateKeyBody(_KeyBody):
    prefix: Annotated[str, Field(max_length=64, pattern=r"^[a-zA-Z0-9_-]+$")] | None = None
    organization_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="organizationId")


class UpdateKeyBody(_KeyBody):
    key_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(alias="keyId")
    enabled: bool | None = None


class DeleteKeyBody(ApiModel):
    key_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(alias="keyId")
    config_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="configId")


class GetKeyQuery(ApiModel):
    id: Annotated[str, Field(min_length=1, max_length=64)]
    config_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="configId")


SortField = Literal["createdAt", "updatedAt", "name", "expiresAt", "lastRequest", "enabled", "remaining",
                    "requestCount", "id", "start", "prefix"]


class ListKeysQuery(ApiModel):
    config_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="configId")
    organization_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="organizationId")
    limit: Annotated[int, Field(ge=0, le=1000)] | None = None
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] | None = None
    sort_by: SortField | None = Field(default=None, alias="sortBy")
    sort_direction: Literal["asc", "desc"] | None = Field(default=None, alias="sortDirection")


class ApiKeyOut(ApiModel):
    id: str
    configId: str
    name: str | None
    start: str | None
    referenceId: str
    prefix: str | None
    refillInterval: int | None
    refillAmount: int | None
    lastRefillAt: str | None
    enabled: bool
    rateLimitEnabled: bool
    rateLimitTimeWindow: int | None
    rateLimitMax: int | None
    requestCount: int
    remaining: int | None
    lastRequest: str | None
    expiresAt: str | None
    createdAt: str
    updatedAt: str
    permissions: dict[str, list[str]] | None
    metadata: dict[str, Any] | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The plaintext key: shown once, never stored")


class ApiKeyList(ApiModel):
    apiKeys: list[ApiKeyOut]
    total: int
    limit: int | None = None
    offset: int | None = None


class SuccessOut(ApiModel):
    success: bool
