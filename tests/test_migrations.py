"""The schema comes from migrations only: they build an empty database that matches the models."""

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from studygroup.extensions import db
from studygroup.testing import temporary_database


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A second, empty database on the same engine as the run's."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with temporary_database(database_url, prefix="studygroup_migrations") as url:
        yield url


def test_migrations_build_the_models_schema_and_go_back_down(empty_database, app_factory):
    app = app_factory(empty_database)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        upgrade()


def test_check_constraints_hold_in_the_database(app, make):
    from studygroup.sessions.models import StudySession

    group = make.group()
    session = make.session(group)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.update(StudySession)
            .where(StudySession.id == session.id)
            .values(ends_at=session.starts_at)
        )
        db.session.flush()
    db.session.rollback()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(
            sa.text("UPDATE study_session SET status = 'postponed' WHERE id = :id"),
            {"id": session.id},
        )
    db.session.rollback()


def _sessions(conn) -> dict:
    query = sa.text("SELECT id, status, cancelled_at, updated_at FROM study_session")
    return {row.id: row for row in conn.execute(query)}


# Before "sessions can be marked not held": everything after it goes down and up with data.
BEFORE_NOT_HELD = "7427805af875"


def test_the_migrations_go_down_and_up_with_data(empty_database, app_factory):
    """The demo's year of data down past the last migrations and up again, checking their
    data steps: a session marked not held becomes cancelled (the old schema's nearest
    status), the name keys are made again from the names, tokens and change times are kept."""
    from studygroup.auth.models import User
    from studygroup.demo import DEMO_PEOPLE
    from studygroup.demo_participants import GUESTS

    app = app_factory(empty_database)
    with app.app_context():
        upgrade()
        assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
        names = {"wide@example.com": "Ｓａｔｏ　 Misaki", "kana@example.com": " スズキ  ﾊﾅｺ "}
        db.session.add_all(
            User(email=email, password_hash="x", display_name=name, reading="ちがう")
            for email, name in names.items()
        )
        db.session.commit()
        with db.engine.begin() as conn:
            held, not_held = (
                conn.execute(
                    sa.text("SELECT id FROM study_session WHERE status = 'scheduled' ORDER BY id")
                )
                .scalars()
                .all()[:2]
            )
            conn.execute(
                sa.text("UPDATE study_session SET status = 'not_held' WHERE id = :id"),
                {"id": not_held},
            )
            before = _sessions(conn)
        changed_at = dict(db.session.execute(sa.select(User.id, User.updated_at)).all())
        db.session.remove()

        downgrade(revision=BEFORE_NOT_HELD)
        with db.engine.connect() as conn:
            after = _sessions(conn)
        assert after[not_held].status == "cancelled"
        assert after[not_held].cancelled_at == before[not_held].updated_at
        assert {k: v for k, v in after.items() if k != not_held} == {
            k: v for k, v in before.items() if k != not_held
        }
        assert after[held].status == "scheduled" and after[held].cancelled_at is None

        upgrade()
        people = len(DEMO_PEOPLE) + len(GUESTS) + len(names)
        tokens = db.session.scalars(sa.select(User.coworkers_link_token)).all()
        assert len(tokens) == people and len(set(tokens)) == people
        assert all(len(t) > 30 for t in tokens)
        # Readings are gone with the downgrade: both keys come from the display name again,
        # normalised (full-width letters and spaces, katakana as hiragana, spaces folded).
        keys = {
            row.email: (row.reading, row.name_sort_key, row.name_search_key)
            for row in db.session.execute(
                sa.select(User.email, User.reading, User.name_sort_key, User.name_search_key)
            )
        }
        assert keys["wide@example.com"] == (None, "sato misaki", "satomisaki")
        assert keys["kana@example.com"] == (None, "すずき はなこ", "すずきはなこ")
        assert all(sort and search for _reading, sort, search in keys.values())
        # What feeds show of each member last changed when the row did.
        shown = dict(db.session.execute(sa.select(User.id, User.shown_changed_at)).all())
        assert shown == changed_at
        db.session.remove()


def test_upgrading_gives_existing_members_and_groups_working_feed_tokens(
    empty_database, app_factory
):
    """Members and groups made before calendar feeds get a token the app can open."""
    from studygroup.calendar import tokens
    from studygroup.models import Group, User

    app = app_factory(empty_database)
    with app.app_context():
        upgrade(revision="ec681e5ae9b2")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    'INSERT INTO "user" (email, password_hash, display_name, bio, timezone,'
                    " session_token, created_at, email_signups, email_waitlist,"
                    " email_session_changes, email_reminders, coworkers_visibility,"
                    " appear_by_name, coworkers_link_token)"
                    " VALUES ('old@example.com', 'x', 'Old', '', 'Asia/Tokyo', 'tok',"
                    " CURRENT_TIMESTAMP, true, true, true, true, 'shared_groups', true, 'l')"
                )
            )
            conn.execute(
                sa.text(
                    'INSERT INTO "group" (name, slug, description, timezone, default_venue,'
                    " join_policy, visibility, signup_opens_days_before,"
                    " signup_closes_hours_before, self_cancel_hours_before,"
                    " reminder_lead_hours, invite_token, created_at, updated_at)"
                    " VALUES ('Old group', 'old', '', 'Asia/Tokyo', '', 'open', 'members',"
                    " 60, 0, 24, '144,24', 'inv', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
        upgrade()
        user = db.session.scalar(sa.select(User))
        group = db.session.scalar(sa.select(Group))
        assert tokens.member_by_token(db.session, tokens.token_of(user)) == user
        assert group.calendar_token_salt  # the part of every member's link to the group feed
        db.session.remove()
        downgrade(revision="base")


def test_name_keys_are_made_again_from_generated_readings(empty_database, app_factory):
    """Members without a reading get keys from the reading pykakasi guesses on the way up
    (and lose them on the way down); a given reading and Latin names keep theirs; no change
    time or feed version moves."""
    from studygroup.auth.models import User

    app = app_factory(empty_database)
    with app.app_context():
        upgrade()
        people = {
            "kanji@example.com": ("長谷川 ひかり", None),
            "read@example.com": ("逢坂 あおい", "アイサカ アオイ"),
            "latin@example.com": ("Sato Misaki", None),
        }
        db.session.add_all(
            User(email=email, password_hash="x", display_name=name, reading=reading)
            for email, (name, reading) in people.items()
        )
        db.session.commit()
        columns = (User.email, User.name_sort_key, User.name_search_key)
        stamps = (User.id, User.updated_at, User.revision, User.shown_changed_at)
        before = db.session.execute(sa.select(*stamps).order_by(User.id)).all()
        db.session.remove()

        def keys():
            found = {row.email: tuple(row[1:]) for row in db.session.execute(sa.select(*columns))}
            db.session.remove()
            return found

        downgrade(revision="cbd5917f5e1a")
        assert keys() == {
            "kanji@example.com": ("長谷川 ひかり", "長谷川ひかり"),
            "read@example.com": ("あいさか あおい", "逢坂あおい\nあいさかあおい"),
            "latin@example.com": ("sato misaki", "satomisaki"),
        }
        upgrade()
        assert keys() == {
            "kanji@example.com": ("はせがわ ひかり", "長谷川ひかり\nはせがわひかり"),
            "read@example.com": ("あいさか あおい", "逢坂あおい\nあいさかあおい"),
            "latin@example.com": ("sato misaki", "satomisaki"),
        }
        assert db.session.execute(sa.select(*stamps).order_by(User.id)).all() == before
        db.session.remove()


def test_the_ties_migration_fills_the_tables_from_the_history(empty_database, app_factory):
    """The demo's history down before the tie tables and up again: the upgrade fills them as
    a rebuild up to its watermark does; the downgrade drops them."""
    from studygroup.coworking.models import Tie, TieRole, TieWatermark
    from studygroup.coworking.ties import rebuild_ties

    app = app_factory(empty_database)
    with app.app_context():
        upgrade()
        assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
        db.session.remove()
        downgrade(revision="89c057091632")
        assert "tie" not in sa.inspect(db.engine).get_table_names()
        upgrade()

        def rows():
            return (
                set(db.session.execute(sa.select(*Tie.__table__.columns)).all()),
                set(db.session.execute(sa.select(*TieRole.__table__.columns)).all()),
            )

        filled = rows()
        assert filled[0] and filled[1]
        upto = db.session.scalar(sa.select(TieWatermark.upto))
        rebuild_ties(db.session, now=upto)
        assert rows() == filled
        db.session.rollback()
        db.session.remove()
