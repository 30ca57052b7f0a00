"""audit entry ids (the spool's replay inserts each entry once)

Revision ID: audit_0002_spool
Revises: audit_0001_log
Formerly 0008_audit_spool of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'audit_0002_spool'
down_revision = 'audit_0001_log'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_id', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_log_entry_id'), ['entry_id'])


def downgrade():
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_log_entry_id'), type_='unique')
        batch_op.drop_column('entry_id')
