"""team choices and accepted teams

Revision ID: 872a24e6f2bc
Revises: b8e69638cc95
Create Date: 2026-12-02 01:38:29.407590

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '872a24e6f2bc'
down_revision = 'b8e69638cc95'
branch_labels = None
depends_on = None


def upgrade():
    # Organizers' swaps in a suggested team (pinned / excluded), shared by all organizers.
    op.create_table('team_choice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('pinned', 'excluded', name='team_choice_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('chosen_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chosen_by_id'], ['user.id'], name=op.f('fk_team_choice_chosen_by_id_user')),
    sa.ForeignKeyConstraint(['session_id'], ['study_session.id'], name=op.f('fk_team_choice_session_id_study_session')),
    sa.ForeignKeyConstraint(['slot_id'], ['role_slot.id'], name=op.f('fk_team_choice_slot_id_role_slot')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_team_choice_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_choice'))
    )
    with op.batch_alter_table('team_choice', schema=None) as batch_op:
        batch_op.create_index('ix_team_choice_session', ['session_id', 'ended_at'], unique=False)

    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('team_accepted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('team_accepted_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_study_session_team_accepted_by_id_user'), 'user', ['team_accepted_by_id'], ['id'])



def downgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_study_session_team_accepted_by_id_user'), type_='foreignkey')
        batch_op.drop_column('team_accepted_by_id')
        batch_op.drop_column('team_accepted_at')

    with op.batch_alter_table('team_choice', schema=None) as batch_op:
        batch_op.drop_index('ix_team_choice_session')

    op.drop_table('team_choice')
