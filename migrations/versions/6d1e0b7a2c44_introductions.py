"""introductions

Revision ID: 6d1e0b7a2c44
Revises: b1d4a7e2c9f0
Create Date: 2026-12-01 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6d1e0b7a2c44'
down_revision = 'b1d4a7e2c9f0'
branch_labels = None
depends_on = None


def upgrade():
    # Never deleted by the app: a declined introduction keeps its pair from being introduced
    # again; both choices are on by default, as every email choice and co-working choice.
    op.create_table('introduction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('introducer_id', sa.Integer(), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_answer', sa.Enum('accepted', 'declined', name='first_answer', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('first_answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('second_answer', sa.Enum('accepted', 'declined', name='second_answer', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('second_answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('first_id < second_id', name=op.f('ck_introduction_pair_in_order')),
    sa.CheckConstraint('introducer_id <> first_id AND introducer_id <> second_id', name=op.f('ck_introduction_not_oneself')),
    sa.ForeignKeyConstraint(['first_id'], ['user.id'], name=op.f('fk_introduction_first_id_user')),
    sa.ForeignKeyConstraint(['introducer_id'], ['user.id'], name=op.f('fk_introduction_introducer_id_user')),
    sa.ForeignKeyConstraint(['second_id'], ['user.id'], name=op.f('fk_introduction_second_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_introduction')),
    sa.UniqueConstraint('first_id', 'second_id', name='uq_introduction_pair')
    )
    with op.batch_alter_table('introduction', schema=None) as batch_op:
        batch_op.create_index('ix_introduction_introducer_created', ['introducer_id', 'created_at'], unique=False)
        batch_op.create_index('ix_introduction_second', ['second_id'], unique=False)

    op.create_table('introduction_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('via_id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('introduction_id', sa.Integer(), nullable=True),
    sa.Column('passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('requester_id <> via_id AND requester_id <> target_id AND via_id <> target_id', name=op.f('ck_introduction_request_three_people')),
    sa.ForeignKeyConstraint(['introduction_id'], ['introduction.id'], name=op.f('fk_introduction_request_introduction_id_introduction')),
    sa.ForeignKeyConstraint(['requester_id'], ['user.id'], name=op.f('fk_introduction_request_requester_id_user')),
    sa.ForeignKeyConstraint(['target_id'], ['user.id'], name=op.f('fk_introduction_request_target_id_user')),
    sa.ForeignKeyConstraint(['via_id'], ['user.id'], name=op.f('fk_introduction_request_via_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_introduction_request'))
    )
    with op.batch_alter_table('introduction_request', schema=None) as batch_op:
        batch_op.create_index('ix_introduction_request_requester_created', ['requester_id', 'created_at'], unique=False)
        batch_op.create_index('ix_introduction_request_via_created', ['via_id', 'created_at'], unique=False)

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_introductions', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('accept_introductions', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('accept_introductions')
        batch_op.drop_column('email_introductions')

    with op.batch_alter_table('introduction_request', schema=None) as batch_op:
        batch_op.drop_index('ix_introduction_request_via_created')
        batch_op.drop_index('ix_introduction_request_requester_created')

    op.drop_table('introduction_request')

    with op.batch_alter_table('introduction', schema=None) as batch_op:
        batch_op.drop_index('ix_introduction_second')
        batch_op.drop_index('ix_introduction_introducer_created')

    op.drop_table('introduction')
