"""The tenant module: the organization as tenant, resolved per request."""

from __future__ import annotations

from app.modules import AppModule


class TenantModule(AppModule):
    name = "tenant"


module = TenantModule()
