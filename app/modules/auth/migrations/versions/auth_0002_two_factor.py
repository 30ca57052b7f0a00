"""two factor: the two_factor table

Revision ID: auth_0002_two_factor
Revises: auth_0001_core
Formerly 0004_two_factor of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0002_two_factor'
down_revision = 'auth_0001_core'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('two_factor',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('backupCodes', sa.Text(), nullable=False),
    sa.Column('userId', sa.String(length=36), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('lastUsedStep', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['userId'], ['user.id'], name=op.f('fk_two_factor_userId_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_two_factor'))
    )
    with op.batch_alter_table('two_factor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_two_factor_userId'), ['userId'], unique=True)


def downgrade():
    with op.batch_alter_table('two_factor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_two_factor_userId'))

    op.drop_table('two_factor')
