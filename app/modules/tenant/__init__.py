"""The tenant module: the organization as tenant, added per request to ``Identity.tenant``.

``init_app`` reads ``MODULES__TENANT__*``; each request's tenant is resolved by the auth bridge
through this module's ``contribute_identity`` (:mod:`.resolver`); the ORM tenant filter of
:class:`TenantScoped` models (:mod:`.scoping`) and, on PostgreSQL when asked, the
row-level-security setting (:mod:`.rls`) follow it.
Importable whatever the toggle: ``TenantScoped`` filters nothing and ``require_tenant`` passes when
the module is off.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from app.core.identity import Identity
from app.core.settings import section
from app.modules import AppModule
from app.modules.tenant.guards import current_tenant, require_tenant
from app.modules.tenant.scoping import TenantScoped, TenantScopeError, tenant_unscoped
from app.modules.tenant.settings import TenantSettings

__all__ = [
    "TenantModule",
    "TenantScopeError",
    "TenantScoped",
    "TenantState",
    "current_tenant",
    "module",
    "require_tenant",
    "tenant_unscoped",
]


@dataclass(frozen=True)
class TenantState:
    """Kept in ``app.extensions["tenant"]``; its presence is what switches the filter on."""

    settings: TenantSettings


class TenantModule(AppModule):
    name = "tenant"

    def init_app(self, app: Flask) -> None:
        # Imported for its effect: registers the per-transaction hook.
        from app.modules.tenant import rls as rls
        from app.modules.tenant.resolver import tenant_before_request

        if "auth" not in app.extensions:
            raise RuntimeError("the tenant module needs the auth module (the tenant is an organization)")
        app.extensions["tenant"] = TenantState(section(app, TenantSettings))
        app.before_request(tenant_before_request)

    def contribute_identity(self, identity: Identity) -> Identity:
        from app.modules.tenant.resolver import contribute_tenant

        return contribute_tenant(identity)


module = TenantModule()
