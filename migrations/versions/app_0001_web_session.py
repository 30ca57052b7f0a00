"""web pages: Flask's server-side session (Flask-Session's SQLAlchemy backend, used without Redis)

Revision ID: app_0001_web_session
Revises:
Formerly 0014_web_session of the single chain (migrations/env.py adopts such databases).
"""
from alembic import op
import sqlalchemy as sa


revision = 'app_0001_web_session'
down_revision = None
branch_labels = ('app',)
depends_on = None


def upgrade():
    op.create_table(
        'web_session',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('session_id', sa.String(length=255), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=True),
        sa.Column('expiry', sa.DateTime(), nullable=True),
        sa.UniqueConstraint('session_id', name='uq_web_session_session_id'),
    )
    op.create_index('ix_web_session_expiry', 'web_session', ['expiry'])


def downgrade():
    op.drop_index('ix_web_session_expiry', table_name='web_session')
    op.drop_table('web_session')
