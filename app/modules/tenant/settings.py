"""The tenant module's own settings (``MODULES__TENANT__*``); ``MODULES__TENANT`` itself is the toggle."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from app.core.settings import Section

ENV_PREFIX = "MODULES__TENANT__"


class TenantSettings(Section):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

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
