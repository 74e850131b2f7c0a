"""unsent introductions

Revision ID: c3a9e1f07b21
Revises: 5548199006bb
Create Date: 2026-12-01 23:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a9e1f07b21'
down_revision = '5548199006bb'
branch_labels = None
depends_on = None


def upgrade():
    # A second introducer's attempt at a pair introduced already: shown to them as waiting,
    # never sent (so "introduced already" does not reveal a decline).
    op.create_table('unsent_introduction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('introducer_id', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('first_id < second_id', name=op.f('ck_unsent_introduction_pair_in_order')),
    sa.ForeignKeyConstraint(['first_id'], ['user.id'], name=op.f('fk_unsent_introduction_first_id_user')),
    sa.ForeignKeyConstraint(['introducer_id'], ['user.id'], name=op.f('fk_unsent_introduction_introducer_id_user')),
    sa.ForeignKeyConstraint(['second_id'], ['user.id'], name=op.f('fk_unsent_introduction_second_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unsent_introduction')),
    sa.UniqueConstraint('introducer_id', 'first_id', 'second_id', name='uq_unsent_introduction_pair')
    )


def downgrade():
    op.drop_table('unsent_introduction')
