"""outbound email: a participant's code to draw as a QR image

Revision ID: a1c0de5e0001
Revises: dedc59686cd2
Create Date: 2026-12-02 05:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1c0de5e0001'
down_revision = 'dedc59686cd2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qr_text', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('outbound_email', schema=None) as batch_op:
        batch_op.drop_column('qr_text')
