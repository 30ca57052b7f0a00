"""provisioned_membership: the memberships the identity provider made, reconciled at each sign-in

Revision ID: 0012_provisioned_memberships
Revises: 0011_counters
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_provisioned_memberships'
down_revision = '0011_counters'
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
