"""co-working ties as data

Revision ID: a3c1e7d95b20
Revises: 89c057091632
Create Date: 2026-12-01 20:00:00.000000

Three tables of derived data (studygroup.coworking.models): a row per member, co-worker and
group with sessions together, side by side, first and last start; the roles both held; and the
watermark, up to which the tables hold the history. The upgrade fills them from the history up
to now, with the query `studygroup.coworking.ties` uses (written out here, so that this file
keeps working when the app's code moves on). No foreign keys: see the models' docstring.

"""

from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a3c1e7d95b20"
down_revision = "89c057091632"
branch_labels = None
depends_on = None

_WORKED = (
    "{p}.status = 'confirmed' AND ({p}.attendance = 'worked'"
    " OR ({p}.attendance = 'unknown' AND s.attendance_confirmed_at IS NULL))"
)
_PAIRS = f"""
FROM assignment a
JOIN role_slot sa ON sa.id = a.slot_id
JOIN study_session s ON s.id = sa.session_id
JOIN role_slot sb ON sb.session_id = s.id
JOIN assignment b ON b.slot_id = sb.id AND b.user_id <> a.user_id
WHERE s.status = 'scheduled' AND s.starts_at <= :upto
  AND {_WORKED.format(p="a")} AND {_WORKED.format(p="b")}
"""
FILL_TIES = f"""
INSERT INTO tie (user_id, other_id, group_id, sessions, side_by_side, first_at, last_at)
SELECT a.user_id, b.user_id, s.group_id, COUNT(DISTINCT s.id),
       COUNT(DISTINCT CASE WHEN sa.id = sb.id
                            OR (sa.starts_at < sb.ends_at AND sa.ends_at > sb.starts_at)
                           THEN s.id END),
       MIN(s.starts_at), MAX(s.starts_at)
{_PAIRS}
GROUP BY a.user_id, b.user_id, s.group_id
"""
FILL_ROLES = f"""
INSERT INTO tie_role (user_id, other_id, role_type_id, group_id, sessions)
SELECT a.user_id, b.user_id, sa.role_type_id, s.group_id, COUNT(DISTINCT s.id)
{_PAIRS} AND sb.id = sa.id
GROUP BY a.user_id, b.user_id, sa.role_type_id, s.group_id
"""


def upgrade():
    op.create_table(
        "tie",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("other_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("side_by_side", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "other_id", "group_id", name=op.f("pk_tie")),
    )
    op.create_table(
        "tie_role",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("other_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role_type_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "other_id", "role_type_id", name=op.f("pk_tie_role")),
    )
    op.create_table(
        "tie_watermark",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("upto", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tie_watermark")),
    )
    upto = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        upto = upto.replace(tzinfo=None)  # stored naive UTC there (studygroup.db.UTCDateTime)
    param = sa.bindparam("upto", upto, type_=sa.DateTime(timezone=True))
    for statement in (FILL_TIES, FILL_ROLES):
        op.execute(sa.text(statement).bindparams(param))
    op.execute(sa.text("INSERT INTO tie_watermark (id, upto) VALUES (1, :upto)").bindparams(param))


def downgrade():
    op.drop_table("tie_watermark")
    op.drop_table("tie_role")
    op.drop_table("tie")
