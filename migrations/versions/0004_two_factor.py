"""two factor: the two_factor table

Revision ID: 0004_two_factor
Revises: 0003_audit
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_two_factor'
down_revision = '0003_audit'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
