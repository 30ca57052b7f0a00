"""better-auth's api-key error codes and messages (``@better-auth/api-key`` ``API_KEY_ERROR_CODES``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.errors import ApiError

MESSAGES: dict[str, str] = {
    "INVALID_METADATA_TYPE": "metadata must be an object or undefined",
    "REFILL_AMOUNT_AND_INTERVAL_REQUIRED": "refillAmount is required when refillInterval is provided",
    "REFILL_INTERVAL_AND_AMOUNT_REQUIRED": "refillInterval is required when refillAmount is provided",
    "USER_BANNED": "User is banned",
    "UNAUTHORIZED_SESSION": "Unauthorized or invalid session",
    "KEY_NOT_FOUND": "API Key not found",
    "KEY_DISABLED": "API Key is disabled",
    "KEY_EXPIRED": "API Key has expired",
    "USAGE_EXCEEDED": "API Key has reached its usage limit",
    "EXPIRES_IN_IS_TOO_SMALL": "The expiresIn is smaller than the predefined minimum value.",
    "EXPIRES_IN_IS_TOO_LARGE": "The expiresIn is larger than the predefined maximum value.",
    "INVALID_PREFIX_LENGTH": "The prefix length is either too large or too small.",
    "INVALID_NAME_LENGTH": "The name length is either too large or too small.",
    "METADATA_DISABLED": "Metadata is disabled.",
    "RATE_LIMITED": "Rate limit exceeded.",
    "NO_VALUES_TO_UPDATE": "No values to update.",
    "KEY_DISABLED_EXPIRATION": "Custom key expiration values are disabled.",
    "INVALID_API_KEY": "Invalid API key.",
    "INVALID_REFERENCE_ID_FROM_API_KEY": "The reference id from the API key is invalid.",
    "SERVER_ONLY_PROPERTY": "The property you're trying to set can only be set from the server auth instance only.",
    "NAME_REQUIRED": "API Key name is required.",
    "ORGANIZATION_ID_REQUIRED": "Organization ID is required for organization-owned API keys.",
    "USER_NOT_MEMBER_OF_ORGANIZATION": "You are not a member of the organization that owns this API key.",
    "INSUFFICIENT_API_KEY_PERMISSIONS": "You do not have permission to perform this action on organization API keys.",
    "ORGANIZATION_PLUGIN_REQUIRED": (
        "Organization plugin is required for organization-owned API keys. "
        "Please install and configure the organization plugin."
    ),
}

STATUS: dict[str, int] = {
    "USER_BANNED": 401,
    "UNAUTHORIZED_SESSION": 401,
    "KEY_NOT_FOUND": 404,
    "KEY_DISABLED": 401,
    "KEY_EXPIRED": 401,
    "USAGE_EXCEEDED": 429,
    "RATE_LIMITED": 429,
    "INVALID_API_KEY": 401,
    "INVALID_REFERENCE_ID_FROM_API_KEY": 401,
    "USER_NOT_MEMBER_OF_ORGANIZATION": 403,
    "INSUFFICIENT_API_KEY_PERMISSIONS": 403,
    "ORGANIZATION_PLUGIN_REQUIRED": 500,
}

RATE_LIMITED = "RATE_LIMITED"
USAGE_EXCEEDED = "USAGE_EXCEEDED"


def api_key_error(code: str, *, status: int | None = None, details: Mapping[str, Any] | None = None) -> ApiError:
    """The error better-auth answers for ``code`` (400 unless it has its own status)."""
    return ApiError(status or STATUS.get(code, 400), code, MESSAGES[code], details=details)
