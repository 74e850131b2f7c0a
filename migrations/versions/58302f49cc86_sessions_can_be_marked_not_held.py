"""sessions can be marked not held

Revision ID: 58302f49cc86
Revises: 7427805af875
Create Date: 2026-11-26 10:00:00.000000

A new value of study_session.status, so only its CHECK constraint changes (the column stays
VARCHAR(16)). Autogenerate does not see CHECK constraints, hence written by hand. SQLite
rebuilds the table (batch mode); PostgreSQL drops and adds the constraint.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '58302f49cc86'
down_revision = '7427805af875'
branch_labels = None
depends_on = None

NAME = "ck_study_session_session_status"


def upgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
        batch_op.create_check_constraint(
            op.f(NAME), sa.text("status IN ('scheduled', 'cancelled', 'not_held')")
        )


def downgrade():
    # The old schema knows no "not held": such sessions become cancelled, which the old code
    # also leaves out of records and co-working.
    op.execute(
        "UPDATE study_session SET status = 'cancelled', cancelled_at = updated_at"
        " WHERE status = 'not_held'"
    )
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
        batch_op.create_check_constraint(
            op.f(NAME), sa.text("status IN ('scheduled', 'cancelled')")
        )
