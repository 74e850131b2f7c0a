"""login throttle: device cookies and the account slow-down

Revision ID: 3cf576251334
Revises: 58302f49cc86
Create Date: 2026-12-01 16:07:48.499375

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3cf576251334'
down_revision = '58302f49cc86'
branch_labels = None
depends_on = None


def upgrade():
    # Attempts at an account from untrusted browsers, and with each device cookie: the
    # per-account slow-down and the device cookies' own limit (studygroup.auth.throttle).
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wait_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )


def downgrade():
    op.drop_table('login_throttle')
