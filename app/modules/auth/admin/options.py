"""Settings of the admin plugin, from ``AUTH__ADMIN__*`` (env or ``create_app`` overrides)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from app.core.settings import Section

PREFIX = "AUTH__ADMIN__"


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class AdminOptions(Section):
    """better-auth's admin options we support, with its defaults (reference §7)."""

    model_config = SettingsConfigDict(env_prefix=PREFIX)

    default_role: str = "user"
    #: Roles whose holders count as admins (impersonating them needs ``user:impersonate-admins``).
    admin_roles: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["admin"])
    #: Users who pass every admin permission check whatever their role.
    admin_user_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    impersonation_session_duration: int = Field(default=3600, ge=60, le=86400)
    default_ban_reason: str | None = None
    default_ban_expires_in: int | None = Field(default=None, ge=1)
    #: better-auth's ``allowImpersonatingAdmins``; otherwise only ``user:impersonate-admins`` may.
    allow_impersonating_admins: bool = False

    _split = field_validator("admin_roles", "admin_user_ids", mode="before")(_csv)
