"""auth counters in the database (rate limits and lockout without Redis)

Revision ID: auth_0006_counters
Revises: auth_0005_revocation
Formerly 0011_counters of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0006_counters'
down_revision = 'auth_0005_revocation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'auth_counter',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('count', sa.BigInteger(), nullable=False),
        sa.Column('expiresAt', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_auth_counter')),
    )
    with op.batch_alter_table('auth_counter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_counter_expiresAt'), ['expiresAt'], unique=False)


def downgrade():
    with op.batch_alter_table('auth_counter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_counter_expiresAt'))
    op.drop_table('auth_counter')
