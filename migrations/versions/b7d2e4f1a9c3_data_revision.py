"""data revision: one number every committed write raises (the page cache's key)

Revision ID: b7d2e4f1a9c3
Revises: a1c0de5e0001
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4f1a9c3'
down_revision = 'a1c0de5e0001'
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        'data_revision',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('number', sa.BigInteger(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_data_revision')),
    )
    op.bulk_insert(table, [{'id': 1, 'number': 0}])


def downgrade():
    op.drop_table('data_revision')
