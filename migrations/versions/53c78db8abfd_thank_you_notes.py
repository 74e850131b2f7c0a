"""thank-you notes

Revision ID: 53c78db8abfd
Revises: a3c1e7d95b20
Create Date: 2026-12-01 19:44:27.620750

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '53c78db8abfd'
down_revision = 'a3c1e7d95b20'
branch_labels = None
depends_on = None


def upgrade():
    # Notes are never deleted by the app (an organizer's removal only hides one); both choices
    # are on by default, as every email choice and the other co-working choices.
    op.create_table('thanks_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('sender_id <> recipient_id', name=op.f('ck_thanks_note_not_to_oneself')),
    sa.ForeignKeyConstraint(['recipient_id'], ['user.id'], name=op.f('fk_thanks_note_recipient_id_user')),
    sa.ForeignKeyConstraint(['removed_by_id'], ['user.id'], name=op.f('fk_thanks_note_removed_by_id_user')),
    sa.ForeignKeyConstraint(['sender_id'], ['user.id'], name=op.f('fk_thanks_note_sender_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['study_session.id'], name=op.f('fk_thanks_note_session_id_study_session')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_thanks_note')),
    sa.UniqueConstraint('session_id', 'sender_id', 'recipient_id', name='uq_thanks_note_once')
    )
    with op.batch_alter_table('thanks_note', schema=None) as batch_op:
        batch_op.create_index('ix_thanks_note_recipient_created', ['recipient_id', 'created_at'], unique=False)
        batch_op.create_index('ix_thanks_note_sender_created', ['sender_id', 'created_at'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_thanks', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('accept_thanks', sa.Boolean(), server_default=sa.true(), nullable=False))



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('accept_thanks')
        batch_op.drop_column('email_thanks')

    with op.batch_alter_table('thanks_note', schema=None) as batch_op:
        batch_op.drop_index('ix_thanks_note_sender_created')
        batch_op.drop_index('ix_thanks_note_recipient_created')

    op.drop_table('thanks_note')
