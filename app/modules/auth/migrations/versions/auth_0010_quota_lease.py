"""api_key.quotaLease: the lease generation of a quota spent from Redis

Revision ID: auth_0010_quota_lease
Revises: auth_0009_teams
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0010_quota_lease'
down_revision = 'auth_0009_teams'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('quotaLease', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('quotaLease')
