"""tenant row-level security: the policy function of tenant-scoped tables (PostgreSQL)

Revision ID: tenant_0001_rls
Revises:

Creates ``app_tenant_matches(organizationId)`` (app/modules/tenant/policy_sql.py); the migration of
each tenant-scoped table depends on this one and puts its table behind the policy. Formerly inline
in 0005_organization of the single chain. Nothing on SQLite.
"""
from alembic import op

from app.modules.tenant.policy_sql import CREATE_MATCH_FUNCTION, DROP_MATCH_FUNCTION


revision = 'tenant_0001_rls'
down_revision = None
branch_labels = ('tenant',)
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(CREATE_MATCH_FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(DROP_MATCH_FUNCTION)
