"""oidc federation (Keycloak)

Revision ID: 0007_oidc
Revises: 0006_api_key_jwks
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_oidc'
down_revision = '0006_api_key_jwks'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
