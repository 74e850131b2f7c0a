"""availability and how places are filled

Revision ID: 0b8367e5c1fd
Revises: e9e4034ad5b5
Create Date: 2026-12-02 01:33:11.385720

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0b8367e5c1fd'
down_revision = 'e9e4034ad5b5'
branch_labels = None
depends_on = None


def upgrade():
    # Every group keeps filling places first come until an organizer chooses otherwise.
    op.create_table('availability',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('can_help', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('any_role', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('note', sa.String(length=200), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('(session_id IS NULL) <> (series_id IS NULL)', name=op.f('ck_availability_session_or_series')),
    sa.ForeignKeyConstraint(['series_id'], ['session_series.id'], name=op.f('fk_availability_series_id_session_series')),
    sa.ForeignKeyConstraint(['session_id'], ['study_session.id'], name=op.f('fk_availability_session_id_study_session')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_availability_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_availability'))
    )
    with op.batch_alter_table('availability', schema=None) as batch_op:
        batch_op.create_index('ix_availability_user', ['user_id', 'ended_at'], unique=False)
        batch_op.create_index('uq_availability_current_series', ['series_id', 'user_id'], unique=True, sqlite_where=sa.text('series_id IS NOT NULL AND ended_at IS NULL'), postgresql_where=sa.text('series_id IS NOT NULL AND ended_at IS NULL'))
        batch_op.create_index('uq_availability_current_session', ['session_id', 'user_id'], unique=True, sqlite_where=sa.text('session_id IS NOT NULL AND ended_at IS NULL'), postgresql_where=sa.text('session_id IS NOT NULL AND ended_at IS NULL'))

    op.create_table('availability_role',
    sa.Column('availability_id', sa.Integer(), nullable=False),
    sa.Column('role_type_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['availability_id'], ['availability.id'], name=op.f('fk_availability_role_availability_id_availability')),
    sa.ForeignKeyConstraint(['role_type_id'], ['role_type.id'], name=op.f('fk_availability_role_role_type_id_role_type')),
    sa.PrimaryKeyConstraint('availability_id', 'role_type_id', name=op.f('pk_availability_role'))
    )
    with op.batch_alter_table('group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fill_mode', sa.Enum('first_come', 'formed', name='fill_mode', native_enum=False, create_constraint=True, length=16), server_default='first_come', nullable=False))
        batch_op.add_column(sa.Column('team_days_before', sa.Integer(), server_default='10', nullable=False))

    with op.batch_alter_table('role_type', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fill_mode', sa.Enum('first_come', 'formed', name='role_fill_mode', native_enum=False, create_constraint=True, length=16), nullable=True))



def downgrade():
    with op.batch_alter_table('role_type', schema=None) as batch_op:
        batch_op.drop_constraint('role_fill_mode', type_='check')
        batch_op.drop_column('fill_mode')

    with op.batch_alter_table('group', schema=None) as batch_op:
        batch_op.drop_constraint('fill_mode', type_='check')
        batch_op.drop_column('team_days_before')
        batch_op.drop_column('fill_mode')

    op.drop_table('availability_role')
    with op.batch_alter_table('availability', schema=None) as batch_op:
        batch_op.drop_index('uq_availability_current_session', sqlite_where=sa.text('session_id IS NOT NULL AND ended_at IS NULL'), postgresql_where=sa.text('session_id IS NOT NULL AND ended_at IS NULL'))
        batch_op.drop_index('uq_availability_current_series', sqlite_where=sa.text('series_id IS NOT NULL AND ended_at IS NULL'), postgresql_where=sa.text('series_id IS NOT NULL AND ended_at IS NULL'))
        batch_op.drop_index('ix_availability_user')

    op.drop_table('availability')
