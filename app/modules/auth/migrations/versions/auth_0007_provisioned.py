"""provisioned_membership: the memberships the identity provider made, reconciled at each sign-in

Revision ID: auth_0007_provisioned
Revises: auth_0006_counters
Formerly 0012_provisioned_memberships of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0007_provisioned'
down_revision = 'auth_0006_counters'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('provisioned_membership',
    sa.Column('memberId', sa.String(length=36), nullable=False),
    sa.Column('providerId', sa.String(length=64), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['memberId'], ['member.id'], name=op.f('fk_provisioned_membership_memberId_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('memberId', name=op.f('pk_provisioned_membership'))
    )


def downgrade():
    op.drop_table('provisioned_membership')
