"""organizations: organization, member, invitation

Revision ID: 0005_organization
Revises: 0004_two_factor
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_organization'
down_revision = '0004_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
