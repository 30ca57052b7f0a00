"""organizations: organization, member, invitation, and the example tenant table project

Revision ID: 0005_organization
Revises: 0004_two_factor

On PostgreSQL, ``project`` gets a row-level-security policy on ``current_setting('app.tenant_id')``
(FORCEd, so the table owner is held too). It is open while the setting is unset or empty, so it
changes nothing until ``MODULES__TENANT__ROW_LEVEL_SECURITY=true`` makes the app set it per
transaction (app/modules/tenant/rls.py).
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_organization'
down_revision = '0004_two_factor'
branch_labels = None
depends_on = None

_TENANT_MATCH = (
    "coalesce(current_setting('app.tenant_id', true), '') = '' "
    "OR \"organizationId\" = current_setting('app.tenant_id', true)"
)


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

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE project ENABLE ROW LEVEL SECURITY')
        op.execute('ALTER TABLE project FORCE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY tenant_isolation ON project USING ({_TENANT_MATCH}) WITH CHECK ({_TENANT_MATCH})')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP POLICY IF EXISTS tenant_isolation ON project')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_organizationId'))

    op.drop_table('project')
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_organizationId'))
        batch_op.drop_index(batch_op.f('ix_invitation_email'))

    op.drop_table('invitation')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_userId'))
        batch_op.drop_index('ix_member_organizationId_userId')

    op.drop_table('member')
    op.drop_table('organization')
