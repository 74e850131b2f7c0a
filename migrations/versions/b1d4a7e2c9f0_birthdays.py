"""birthdays

Revision ID: b1d4a7e2c9f0
Revises: 415ae170e704
Create Date: 2026-12-01 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1d4a7e2c9f0'
down_revision = '415ae170e704'
branch_labels = None
depends_on = None

NAME = 'ck_user_birthday_month_and_day'
BIRTHDAY_CHECK = (
    '(birthday_month IS NULL AND birthday_day IS NULL) OR '
    '(birthday_month BETWEEN 1 AND 12 AND birthday_day BETWEEN 1 AND 31)'
)


def upgrade():
    # A birthday is private by default and its weekly email is opt-in: both choices start off.
    # Month and day come together or not at all (the form also checks the day fits the month).
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('birthday_month', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('birthday_day', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('share_birthday', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('email_birthday_digest', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(op.f(NAME), sa.text(BIRTHDAY_CHECK))


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
        batch_op.drop_column('email_birthday_digest')
        batch_op.drop_column('share_birthday')
        batch_op.drop_column('birthday_day')
        batch_op.drop_column('birthday_month')
