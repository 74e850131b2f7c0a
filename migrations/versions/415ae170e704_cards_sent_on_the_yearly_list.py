"""cards sent on the yearly list

A member's own checklist on the yearly list (年賀状リスト): one row per person and year they
marked "card sent"; unmarking deletes the row. No data to move.

Revision ID: 415ae170e704
Revises: 53c78db8abfd
Create Date: 2026-12-01 19:44:19.734119

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '415ae170e704'
down_revision = '53c78db8abfd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('card_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['user.id'], name=op.f('fk_card_sent_member_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['user.id'], name=op.f('fk_card_sent_person_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_sent')),
    sa.UniqueConstraint('member_id', 'person_id', 'year', name='uq_card_sent_member_person_year')
    )


def downgrade():
    op.drop_table('card_sent')
