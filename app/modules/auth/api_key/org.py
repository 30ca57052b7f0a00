"""Who may manage an organization's keys: better-auth's ``checkOrgApiKeyPermission``.

A member whose organization role allows ``apiKey:[create|read|update|delete]`` may; the creator role
(``owner``) always may (better-auth ``allowCreatorAllPermissions``). Asks the organization plugin's
public service (``member_role``, ``member_has_permission``), never its tables.
"""

from __future__ import annotations

import importlib
from typing import Any

from app.core.errors import ApiError
from app.modules.auth.api_key.errors import api_key_error

CREATOR_ROLE = "owner"


def _service() -> Any:
    try:
        return importlib.import_module("app.modules.auth.organization.service")
    except ModuleNotFoundError:
        raise api_key_error("ORGANIZATION_PLUGIN_REQUIRED") from None


def is_org_member(user_id: str, organization_id: str) -> bool:
    """Whether the user belongs to the organization (False without the organization plugin)."""
    try:
        service = _service()
    except ApiError:  # no organization plugin: a member of nothing
        return False
    return hasattr(service, "member_role") and service.member_role(user_id, organization_id) is not None


def check_org_permission(user_id: str, organization_id: str, action: str) -> None:
    """Raise 403 unless the user may ``action`` the organization's keys."""
    service = _service()
    if not hasattr(service, "member_role") or not hasattr(service, "member_has_permission"):
        raise api_key_error("ORGANIZATION_PLUGIN_REQUIRED")
    role = service.member_role(user_id, organization_id)
    if role is None:
        raise api_key_error("USER_NOT_MEMBER_OF_ORGANIZATION")
    if CREATOR_ROLE in {part.strip() for part in str(role).split(",")}:
        return
    try:
        allowed = bool(service.member_has_permission(user_id, organization_id, {"apiKey": [action]}))
    except (KeyError, ValueError, LookupError):  # the organization's access control has no apiKey resource
        allowed = False
    if not allowed:
        raise api_key_error("INSUFFICIENT_API_KEY_PERMISSIONS")
