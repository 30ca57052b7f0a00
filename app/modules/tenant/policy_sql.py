"""The SQL of tenant row-level security, for the migrations of tenant-scoped tables.

The tenant module's migration (``tenant_0001_rls``) creates ``app_tenant_matches(organizationId)``,
the one definition of "this row belongs to the current tenant" on PostgreSQL; a module's migration
that creates a :class:`~app.modules.tenant.TenantScoped` table declares ``depends_on`` that revision
and calls :func:`enable_row_level_security` (the example module's ``project`` does). The policy is
FORCEd, so the table owner is held too, and open while ``app.tenant_id`` is unset or empty, so it
changes nothing until ``MODULES__TENANT__ROW_LEVEL_SECURITY=true`` makes the app set it (:mod:`.rls`).
Plain strings and ``op`` calls only: migrations import this without an application.
"""

from __future__ import annotations

from typing import Any

#: The tenant module's migration that every tenant-scoped table's migration depends on.
RLS_REVISION = "tenant_0001_rls"

CREATE_MATCH_FUNCTION = """
CREATE OR REPLACE FUNCTION app_tenant_matches(organization_id text) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('app.tenant_id', true), '') = ''
        OR organization_id = current_setting('app.tenant_id', true)
$$
"""
DROP_MATCH_FUNCTION = "DROP FUNCTION IF EXISTS app_tenant_matches(text)"


def enable_row_level_security(op: Any, table: str) -> None:
    """Put ``table`` (with an ``organizationId`` column) behind the tenant policy; PostgreSQL only."""
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
    op.execute(f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY')
    match = 'app_tenant_matches("organizationId")'
    op.execute(f'CREATE POLICY tenant_isolation ON "{table}" USING ({match}) WITH CHECK ({match})')


def disable_row_level_security(op: Any, table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"')
