"""auth core

Revision ID: 0002_auth_core
Revises: 0001_base
Create Date: 2026-11-22 18:52:39.042711

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_auth_core'
down_revision = '0001_base'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
