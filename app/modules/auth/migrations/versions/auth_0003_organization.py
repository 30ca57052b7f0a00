"""organizations: organization, member, invitation

Revision ID: auth_0003_organization
Revises: auth_0002_two_factor

The example tenant table ``project`` and its row-level security, once here, are the example and
tenant modules' own migrations now.

Formerly 0005_organization of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0003_organization'
down_revision = 'auth_0002_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organization',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('slug', sa.String(length=255), nullable=False),
    sa.Column('logo', sa.Text(), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('metadata', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organization')),
    sa.UniqueConstraint('slug', name=op.f('uq_organization_slug'))
    )
    op.create_table('member',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organizationId', sa.String(length=36), nullable=False),
    sa.Column('userId', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=255), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organizationId'], ['organization.id'], name=op.f('fk_member_organizationId_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['userId'], ['user.id'], name=op.f('fk_member_userId_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member'))
    )
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.create_index('ix_member_organizationId_userId', ['organizationId', 'userId'], unique=True)
        batch_op.create_index(batch_op.f('ix_member_userId'), ['userId'], unique=False)

    op.create_table('invitation',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('organizationId', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('role', sa.String(length=255), nullable=True),
    sa.Column('teamId', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expiresAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inviterId', sa.String(length=36), nullable=False),
    sa.ForeignKeyConstraint(['inviterId'], ['user.id'], name=op.f('fk_invitation_inviterId_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organizationId'], ['organization.id'], name=op.f('fk_invitation_organizationId_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_organizationId'), ['organizationId'], unique=False)


def downgrade():
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_organizationId'))
        batch_op.drop_index(batch_op.f('ix_invitation_email'))

    op.drop_table('invitation')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_userId'))
        batch_op.drop_index('ix_member_organizationId_userId')

    op.drop_table('member')
    op.drop_table('organization')
