"""organization teams: team, teamMember, session.activeTeamId (better-auth teams.enabled)

Revision ID: auth_0009_teams
Revises: auth_0008_passwordless
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0009_teams'
down_revision = 'auth_0008_passwordless'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('team',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('organizationId', sa.String(length=36), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updatedAt', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organizationId'], ['organization.id'], name=op.f('fk_team_organizationId_organization'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team'))
    )
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_organizationId'), ['organizationId'], unique=False)

    op.create_table('teamMember',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('teamId', sa.String(length=36), nullable=False),
    sa.Column('userId', sa.String(length=36), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['teamId'], ['team.id'], name=op.f('fk_teamMember_teamId_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['userId'], ['user.id'], name=op.f('fk_teamMember_userId_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teamMember'))
    )
    with op.batch_alter_table('teamMember', schema=None) as batch_op:
        batch_op.create_index('ix_teamMember_teamId_userId', ['teamId', 'userId'], unique=True)
        batch_op.create_index(batch_op.f('ix_teamMember_userId'), ['userId'], unique=False)

    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activeTeamId', sa.String(length=36), nullable=True))


def downgrade():
    with op.batch_alter_table('session', schema=None) as batch_op:
        batch_op.drop_column('activeTeamId')
    with op.batch_alter_table('teamMember', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teamMember_userId'))
        batch_op.drop_index('ix_teamMember_teamId_userId')
    op.drop_table('teamMember')
    with op.batch_alter_table('team', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_organizationId'))
    op.drop_table('team')
