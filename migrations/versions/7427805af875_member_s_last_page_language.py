"""member's last page language

Revision ID: 7427805af875
Revises: 81a8a3013ea7
Create Date: 2026-12-01 15:16:49.890081

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7427805af875'
down_revision = '81a8a3013ea7'
branch_labels = None
depends_on = None


def upgrade():
    # The page language of a member's last visit, for the emails of members with no setting.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_locale', sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('last_locale')
