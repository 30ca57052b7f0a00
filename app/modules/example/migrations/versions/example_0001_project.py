"""example module: the tenant table project, behind the tenant module's row-level security

Revision ID: example_0001_project
Revises:

Formerly part of 0005_organization of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa

from app.modules.tenant.policy_sql import RLS_REVISION, disable_row_level_security, enable_row_level_security


revision = 'example_0001_project'
down_revision = None
branch_labels = ('example',)
depends_on = ('auth_0003_organization', RLS_REVISION)


def upgrade():
    op.create_table('project',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('createdBy', sa.String(length=36), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updatedAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organizationId', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['organizationId'], ['organization.id'], name=op.f('fk_project_organizationId_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project'))
    )
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_organizationId'), ['organizationId'], unique=False)
    enable_row_level_security(op, 'project')


def downgrade():
    disable_row_level_security(op, 'project')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_organizationId'))
    op.drop_table('project')
