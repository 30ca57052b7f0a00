"""base

Revision ID: 0001_base
Revises: 
Create Date: 2026-11-22 18:51:40.996707

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_base'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
