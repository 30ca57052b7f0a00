"""passwordless: passkeys and email one-time codes

Revision ID: auth_0008_passwordless
Revises: auth_0007_provisioned
Formerly 0013_passwordless of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'auth_0008_passwordless'
down_revision = 'auth_0007_provisioned'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('passkey',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('publicKey', sa.Text(), nullable=False),
    sa.Column('userId', sa.String(length=36), nullable=False),
    sa.Column('credentialID', sa.String(length=1400), nullable=False),
    sa.Column('counter', sa.BigInteger(), nullable=False),
    sa.Column('deviceType', sa.String(length=32), nullable=False),
    sa.Column('backedUp', sa.Boolean(), nullable=False),
    sa.Column('transports', sa.String(length=255), nullable=True),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=True),
    sa.Column('aaguid', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['userId'], ['user.id'], name=op.f('fk_passkey_userId_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_passkey')),
    sa.UniqueConstraint('credentialID', name=op.f('uq_passkey_credentialID'))
    )
    with op.batch_alter_table('passkey', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_passkey_userId'), ['userId'], unique=False)

    op.create_table('email_otp',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('identifier', sa.String(length=400), nullable=False),
    sa.Column('codeHash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('expiresAt', sa.DateTime(timezone=True), nullable=False),
    sa.Column('createdAt', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_otp')),
    sa.UniqueConstraint('identifier', name=op.f('uq_email_otp_identifier'))
    )
    with op.batch_alter_table('email_otp', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_otp_expiresAt'), ['expiresAt'], unique=False)


def downgrade():
    with op.batch_alter_table('email_otp', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_otp_expiresAt'))
    op.drop_table('email_otp')
    with op.batch_alter_table('passkey', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_passkey_userId'))
    op.drop_table('passkey')
