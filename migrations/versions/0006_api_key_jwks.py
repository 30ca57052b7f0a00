"""api keys and the JWKS

Revision ID: 0006_api_key_jwks
Revises: 0005_organization
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_api_key_jwks'
down_revision = '0005_organization'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
