"""revocation sequence: the database is the truth for revocations, caches are checked against it

Revision ID: auth_0005_revocation
Revises: auth_0004_api_key_jwks
Formerly 0010_revocation_epoch of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0005_revocation'
down_revision = 'auth_0004_api_key_jwks'
branch_labels = None
depends_on = None


def upgrade():
    epoch = op.create_table('revocation_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revocation_epoch'))
    )
    op.bulk_insert(epoch, [{'id': 1, 'seq': 0}])
    op.create_table('revocation_event',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=1), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revocation_event'))
    )
    with op.batch_alter_table('revocation_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revocation_event_seq'), ['seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_revocation_event_createdAt'), ['createdAt'], unique=False)


def downgrade():
    with op.batch_alter_table('revocation_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revocation_event_createdAt'))
        batch_op.drop_index(batch_op.f('ix_revocation_event_seq'))
    op.drop_table('revocation_event')
    op.drop_table('revocation_epoch')
