"""who knows X: findable members, skill keys folded

"Who knows X?" (studygroup.people) finds members by their skill tags:

* user.findable: the member's choice to be found by the members of their groups, on by default.
* An index on user_skill (skill_id, user_id): the members of the matching tags, found after
  the tags themselves (the skill table is small).
* skill.key was the name case-folded; it becomes studygroup.names.skill_key (NFKC, case,
  width and katakana as hiragana), so "ＰＬＣ" and "PLC" are one tag. Tags that become one
  are merged into the oldest (its spelling stays): their members keep the tag, once each.
  Keys move through a temporary value (" #<id>": no key starts with a space) so that the
  unique constraint holds at every statement. Going down makes the keys case-folded names
  again; merged tags stay merged.

Revision ID: 5548199006bb
Revises: 6d1e0b7a2c44
Create Date: 2026-12-01 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5548199006bb'
down_revision = '6d1e0b7a2c44'
branch_labels = None
depends_on = None

skills = sa.table(
    "skill",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("key", sa.String),
)
user_skill = sa.table(
    "user_skill",
    sa.column("user_id", sa.Integer),
    sa.column("skill_id", sa.Integer),
)


def _rekey(make_key):
    """Set every tag's key to make_key(name), merging tags whose keys become equal."""
    conn = op.get_bind()
    rows = conn.execute(sa.select(skills.c.id, skills.c.name, skills.c.key).order_by(skills.c.id)).all()
    keeper: dict[str, int] = {}
    changed = []
    for skill_id, name, old_key in rows:
        key = make_key(name)
        kept = keeper.setdefault(key, skill_id)
        if kept != skill_id:  # a younger spelling of the same tag: its members get the older
            already = sa.select(user_skill.c.user_id).where(user_skill.c.skill_id == kept)
            conn.execute(
                user_skill.delete().where(
                    user_skill.c.skill_id == skill_id, user_skill.c.user_id.in_(already)
                )
            )
            conn.execute(
                user_skill.update().where(user_skill.c.skill_id == skill_id).values(skill_id=kept)
            )
            conn.execute(skills.delete().where(skills.c.id == skill_id))
        elif key != old_key:
            changed.append({"row_id": skill_id, "new_key": key, "parked": f" #{skill_id}"})
    if changed:
        update = skills.update().where(skills.c.id == sa.bindparam("row_id"))
        conn.execute(update.values(key=sa.bindparam("parked")), changed)
        conn.execute(update.values(key=sa.bindparam("new_key")), changed)


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('findable', sa.Boolean(), server_default=sa.true(), nullable=False))

    with op.batch_alter_table('user_skill', schema=None) as batch_op:
        batch_op.create_index('ix_user_skill_skill_user', ['skill_id', 'user_id'], unique=False)

    # The app's rule (a later change of it comes with a migration of its own).
    from studygroup.names import skill_key

    _rekey(skill_key)


def downgrade():
    _rekey(lambda name: name.casefold()[:40])

    with op.batch_alter_table('user_skill', schema=None) as batch_op:
        batch_op.drop_index('ix_user_skill_skill_user')

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('findable')
