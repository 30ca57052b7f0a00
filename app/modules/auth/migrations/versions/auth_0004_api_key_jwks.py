"""api keys and the JWKS

Revision ID: auth_0004_api_key_jwks
Revises: auth_0003_organization
Formerly 0006_api_key_jwks of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0004_api_key_jwks'
down_revision = 'auth_0003_organization'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('api_key',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('configId', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('start', sa.String(length=64), nullable=True),
    sa.Column('referenceId', sa.String(length=36), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=True),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('refillInterval', sa.BigInteger(), nullable=True),
    sa.Column('refillAmount', sa.Integer(), nullable=True),
    sa.Column('lastRefillAt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('rateLimitEnabled', sa.Boolean(), nullable=False),
    sa.Column('rateLimitTimeWindow', sa.BigInteger(), nullable=True),
    sa.Column('rateLimitMax', sa.Integer(), nullable=True),
    sa.Column('requestCount', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=True),
    sa.Column('lastRequest', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expiresAt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updatedAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('permissions', sa.Text(), nullable=True),
    sa.Column('metadata', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key'))
    )
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_key_configId'), ['configId'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_expiresAt'), ['expiresAt'], unique=False)
        batch_op.create_index(batch_op.f('ix_api_key_key'), ['key'], unique=True)
        batch_op.create_index(batch_op.f('ix_api_key_referenceId'), ['referenceId'], unique=False)

    op.create_table('jwks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('publicKey', sa.Text(), nullable=False),
    sa.Column('privateKey', sa.Text(), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expiresAt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('alg', sa.String(length=16), nullable=True),
    sa.Column('crv', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jwks'))
    )


def downgrade():
    op.drop_table('jwks')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_key_referenceId'))
        batch_op.drop_index(batch_op.f('ix_api_key_key'))
        batch_op.drop_index(batch_op.f('ix_api_key_expiresAt'))
        batch_op.drop_index(batch_op.f('ix_api_key_configId'))

    op.drop_table('api_key')
