"""name keys from generated readings

Revision ID: 89c057091632
Revises: cbd5917f5e1a
Create Date: 2026-12-01 19:30:00.000000

Members who gave no reading sorted by their name's code points (長谷川 before 青木). Their
name keys are made again from the reading studygroup.names guesses with pykakasi, so lists
come in 50-音 order; searches find them by that reading too. Only the two key columns change:
no change time or feed version moves. Going down makes the keys as the earlier rule did.

10,000 members take a few seconds: pykakasi loads once (about a second) and only when some
name without a reading has kanji, each distinct name is read once, and the changed rows are
written in one executemany.
"""
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '89c057091632'
down_revision = 'cbd5917f5e1a'
branch_labels = None
depends_on = None

users = sa.table(
    "user",
    sa.column("id", sa.Integer),
    sa.column("display_name", sa.String),
    sa.column("reading", sa.String),
    sa.column("name_sort_key", sa.Text),
    sa.column("name_search_key", sa.Text),
)


def _remake_keys(sort_key, search_key):
    """Set both keys, made by these functions from (display name, reading), where they differ."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            users.c.id,
            users.c.display_name,
            users.c.reading,
            users.c.name_sort_key,
            users.c.name_search_key,
        )
    ).all()
    changed = []
    for row_id, name, reading, old_sort, old_search in rows:
        sort, search = sort_key(name or "", reading), search_key(name or "", reading)
        if (sort, search) != (old_sort, old_search):
            changed.append({"row_id": row_id, "sort": sort, "search": search})
    if changed:
        conn.execute(
            users.update()
            .where(users.c.id == sa.bindparam("row_id"))
            .values(name_sort_key=sa.bindparam("sort"), name_search_key=sa.bindparam("search")),
            changed,
        )


def upgrade():
    # The app's rule (a later change of it comes with a migration of its own).
    from studygroup.names import name_search_key, name_sort_key

    _remake_keys(name_sort_key, name_search_key)


def downgrade():
    # The rule before: the reading if given, else the name as it is (d911037e60af's).
    def fold(text):
        folded = unicodedata.normalize("NFKC", text).casefold()
        return folded.translate({c: c - 0x60 for c in range(0x30A1, 0x30F7)})

    _remake_keys(
        lambda name, reading: " ".join(fold(reading or name).split()),
        lambda name, reading: "\n".join(
            "".join(fold(part).split()) for part in (name, reading or "") if part
        ),
    )
