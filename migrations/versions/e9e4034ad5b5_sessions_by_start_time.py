"""sessions by start time

An index on study_session (starts_at): "who knows X?" (studygroup.people) counts live the
sessions started since the tie watermark for many people at once, in every group; without it
PostgreSQL reads the whole session table for that part. No data to move.

Revision ID: e9e4034ad5b5
Revises: c3a9e1f07b21
Create Date: 2026-12-01 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e9e4034ad5b5'
down_revision = 'c3a9e1f07b21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.create_index('ix_study_session_starts_at', ['starts_at'], unique=False)


def downgrade():
    with op.batch_alter_table('study_session', schema=None) as batch_op:
        batch_op.drop_index('ix_study_session_starts_at')
