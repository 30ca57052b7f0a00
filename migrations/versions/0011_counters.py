"""auth counters in the database (rate limits and lockout without Redis)

Revision ID: 0011_counters
Revises: 0010_revocation_epoch
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_counters'
down_revision = '0010_revocation_epoch'
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
