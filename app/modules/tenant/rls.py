"""PostgreSQL row-level security: the database's own wall behind the ORM filter.

OWASP Multi-Tenant Security Cheat Sheet, defence in depth: the policies on tenant tables (created by
the migrations) compare each row's ``organizationId`` with ``current_setting('app.tenant_id')``.
With ``MODULES__TENANT__ROW_LEVEL_SECURITY=true`` that setting is set with ``set_config(..., true)``
(transaction-local, so a pooled connection never carries one request's tenant into the next) at
the start of every transaction and again once the request's tenant is known. No tenant sets a value
no row has; only ``tenant_unscoped`` sets it empty, which the policy reads as "every tenant".
"""

from __future__ import annotations

from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from app.modules.tenant.scoping import current_tenant_id, is_unscoped

#: What ``app.tenant_id`` holds when no tenant is resolved: matches no row.
NO_TENANT = "-"
_SET = text("SELECT set_config('app.tenant_id', :value, true)")


def rls_enabled() -> bool:
    if not has_app_context():
        return False
    state = current_app.extensions.get("tenant")
    return bool(state is not None and state.settings.row_level_security)


def setting_value() -> str:
    if is_unscoped():
        return ""
    return current_tenant_id() or NO_TENANT


def _set(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_SET, {"value": setting_value()})


@event.listens_for(Session, "after_begin")
def _on_begin(session: Session, transaction: Any, connection: Connection) -> None:
    if rls_enabled():
        _set(connection)


def apply_rls() -> None:
    """Re-set ``app.tenant_id`` in the transaction already open (the tenant became known, or an
    escape hatch opened or closed)."""
    if not rls_enabled():
        return
    from app.extensions import db

    session = db.session()
    if session.in_transaction():
        _set(session.connection())
