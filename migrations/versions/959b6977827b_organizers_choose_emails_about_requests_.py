"""organizers choose emails about requests to answer

Revision ID: 959b6977827b
Revises: ff6b9a633bba
Create Date: 2026-12-01 15:17:35.393695

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '959b6977827b'
down_revision = 'ff6b9a633bba'
branch_labels = None
depends_on = None


def upgrade():
    # On by default, as every email choice: organizers hear of requests unless they say no.
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_organizer_requests', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('email_organizer_requests')
