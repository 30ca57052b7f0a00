"""Tenant isolation in the ORM: every query on a :class:`TenantScoped` model sees only the identity's tenant.

OWASP ASVS V4.2.1 / OWASP Multi-Tenant Security Cheat Sheet ("enforce tenant context at the data
layer"): route code cannot forget the filter, because it is not route code's job. A
``do_orm_execute`` hook adds ``with_loader_criteria`` to every ORM SELECT, UPDATE and DELETE, and
``before_flush`` stamps new rows with the tenant and refuses rows of another tenant. With the
module on and no tenant resolved, scoped queries see nothing (deny by default).

The one escape hatch, for admin jobs, is explicit and greppable: ``with tenant_unscoped("why"):``.
With the module off the mixin filters nothing. Raw SQL (``text()``) is not filtered: the optional
PostgreSQL row-level-security mode (:mod:`app.modules.tenant.rls`) is the second wall for it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import ForeignKey, String, event, false, inspect
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from app.core.identity import current

log = logging.getLogger(__name__)

_UNSCOPED: ContextVar[bool] = ContextVar("tenant_unscoped", default=False)


class TenantScopeError(RuntimeError):
    """A write that would put a row in another tenant (or in none): a bug, never a user error."""


class TenantScoped:
    """Mixin: an ``organizationId`` column, and automatic tenant filtering of every ORM query."""

    organization_id: Mapped[str | None] = mapped_column(
        "organizationId", String(36), ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )


@contextmanager
def tenant_unscoped(reason: str) -> Iterator[None]:
    """Escape hatch for admin jobs: queries inside see every tenant's rows. Say why; it is logged."""
    if not reason:
        raise ValueError("tenant_unscoped needs a reason")
    log.info("tenant filter lifted: %s", reason)
    token = _UNSCOPED.set(True)
    try:
        from app.modules.tenant.rls import apply_rls

        apply_rls()
        yield
    finally:
        _UNSCOPED.reset(token)
        from app.modules.tenant.rls import apply_rls

        apply_rls()


def is_unscoped() -> bool:
    return _UNSCOPED.get()


def scoping_active() -> bool:
    """The module is on for this app and no escape hatch is open."""
    return has_app_context() and "tenant" in current_app.extensions and not _UNSCOPED.get()


def current_tenant_id() -> str | None:
    tenant = current().tenant
    return tenant.id if tenant is not None else None


@event.listens_for(Session, "do_orm_execute")
def _filter_to_tenant(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # the criteria already travel with the parent query
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get("tenant_unscoped") or not scoping_active():
        return
    tenant_id = current_tenant_id()
    if tenant_id is None:
        option = with_loader_criteria(TenantScoped, lambda cls: false(), include_aliases=True)
    else:
        option = with_loader_criteria(
            TenantScoped, lambda cls: cls.organization_id == tenant_id, include_aliases=True
        )
    state.statement = state.statement.options(option)


@event.listens_for(Session, "before_flush")
def _stamp_and_check(session: Session, flush_context: Any, instances: Any) -> None:
    if not scoping_active():
        return
    tenant_id = current_tenant_id()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if tenant_id is None:
            raise TenantScopeError(f"{type(obj).__name__} created without a tenant")
        if obj.organization_id is None:
            obj.organization_id = tenant_id
        elif obj.organization_id != tenant_id:
            raise TenantScopeError(f"{type(obj).__name__} created in another tenant")
    for obj in session.dirty:
        if isinstance(obj, TenantScoped) and inspect(obj).attrs.organization_id.history.has_changes():
            raise TenantScopeError(f"{type(obj).__name__} moved to another tenant")
    for obj in session.deleted:
        if isinstance(obj, TenantScoped) and obj.organization_id != tenant_id:
            raise TenantScopeError(f"{type(obj).__name__} of another tenant deleted")
