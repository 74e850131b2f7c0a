"""The tie tables (studygroup.coworking.ties): kept equal to a rebuild through every service
that changes what counts as worked, on SQLite and PostgreSQL (TEST_DATABASE_URL)."""

import random
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.coworking.models import Tie, TieRole, TieWatermark
from studygroup.coworking.services import _coworkers_live, coworkers_of
from studygroup.coworking.ties import advance_ties, rebuild_ties, watermark
from studygroup.extensions import db
from studygroup.rules import RuleViolation
from studygroup.sessions import services as sessions
from studygroup.sessions.models import StudySession
from studygroup.signups import organizing
from studygroup.signups import services as signups
from studygroup.signups.models import LIVE_STATUSES, Assignment, AssignmentStatus, Attendance
from tests.factories import slots_of

NOW = datetime.now(UTC).replace(microsecond=0)


def tables() -> tuple[set, set]:
    ties = db.session.execute(
        sa.select(
            Tie.user_id,
            Tie.other_id,
            Tie.group_id,
            Tie.sessions,
            Tie.side_by_side,
            Tie.first_at,
            Tie.last_at,
        )
    ).all()
    roles = db.session.execute(
        sa.select(
            TieRole.user_id,
            TieRole.other_id,
            TieRole.role_type_id,
            TieRole.group_id,
            TieRole.sessions,
        )
    ).all()
    return set(ties), set(roles)


def assert_equals_rebuild() -> None:
    """The maintained tables equal a rebuild up to the same watermark (rolled back after, so
    the maintained rows go on being tested), and the page's figures equal a live count."""
    db.session.commit()
    upto = watermark(db.session)
    kept = tables()
    if upto is not None:
        rebuild_ties(db.session, now=upto)
        assert tables() == kept
        db.session.rollback()
    later = NOW + timedelta(hours=2)  # some sessions between the watermark and now, live
    for member in people():
        from_ties = coworkers_of(db.session, member, viewer=member, now=later)
        live = _coworkers_live(
            db.session, member, viewer=member, now=later, group_id=None, since=None, until=None
        )
        assert sorted(from_ties, key=by_id) == sorted(live, key=by_id)


def by_id(coworker):
    return coworker.user_id


_crew: list = []


def people():
    return [db.session.get(type(p), p.id) for p in _crew]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kept_tables_equal_a_rebuild_after_random_changes(make, seed):
    rnd = random.Random(seed)
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    other_group = make.group(organizer)
    _crew[:] = [make.member(group, make.user(display_name=f"P{n}")) for n in range(6)]
    for member in _crew[:3]:
        make.member(other_group, member)
    # Sessions from three weeks ago to tomorrow, some an hour either side of now.
    all_sessions = []
    for offset in (-21, -14, -7, -2, -1, 1):
        for g in (group, other_group) if offset in (-14, -1) else (group,):
            all_sessions.append(
                make.session(g, day=date.today() + timedelta(days=offset), start=time(10))
            )
    for hours in (-1, 1):
        start = NOW + timedelta(hours=hours)
        s = make.session(group, day=date.today())
        sessions.update_session(
            db.session,
            s,
            title=s.title,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            venue=s.venue,
            description="",
            now=NOW,
        )
        all_sessions.append(s)
    db.session.commit()
    for s in all_sessions:
        for slot in slots_of(s).values():
            slot.headcount = 2
    db.session.commit()
    session_ids = [s.id for s in all_sessions]

    def a_session():
        return db.session.get(StudySession, rnd.choice(session_ids))

    def a_slot():
        return rnd.choice(list(slots_of(a_session()).values()))

    def a_member(slot):
        members = {m.id for m in people()}
        if slot.session.group_id != group.id:
            members = {m.id for m in people()[:3]}
        return db.session.get(type(_crew[0]), rnd.choice(sorted(members)))

    def a_place(*statuses):
        query = sa.select(Assignment).order_by(Assignment.id)
        if statuses:
            query = query.where(Assignment.status.in_(statuses))
        places = db.session.scalars(query).all()
        return rnd.choice(places) if places else None

    def assign():
        slot = a_slot()
        organizing.assign(
            db.session,
            organizer=organizer,
            member=a_member(slot),
            slot=slot,
            now=NOW,
            confirmed=rnd.choice([None, "yes"]),
        )

    def sign_up():
        slot = a_slot()
        signups.sign_up(db.session, member=a_member(slot), slot=slot, now=NOW)

    def cancel():
        if place := a_place(*LIVE_STATUSES):
            signups.cancel_place(
                db.session, place=place, actor=organizer, now=NOW, by_organizer=True
            )

    def move():
        if place := a_place(AssignmentStatus.CONFIRMED):
            to = rnd.choice(list(slots_of(place.slot.session).values()))
            organizing.move_place(
                db.session, organizer=organizer, place=place, to_slot=to, now=NOW, confirmed="yes"
            )

    def promote():
        if place := a_place(AssignmentStatus.WAITLISTED):
            organizing.promote_by_hand(
                db.session, organizer=organizer, place=place, now=NOW, confirmed="yes"
            )

    def attendance():
        if place := a_place(AssignmentStatus.CONFIRMED):
            organizing.set_attendance(
                db.session,
                organizer=organizer,
                place=place,
                attendance=rnd.choice(list(Attendance)),
                now=NOW,
            )

    def confirm():
        organizing.confirm_attendance(db.session, organizer=organizer, session=a_session(), now=NOW)

    def slot_time():
        slot = a_slot()
        shift = timedelta(minutes=rnd.choice([-90, -30, 30, 90]))
        organizing.change_slot(
            db.session,
            organizer=organizer,
            slot=slot,
            headcount=slot.headcount,
            starts_at=slot.starts_at + shift,
            ends_at=slot.ends_at + shift,
            now=NOW,
            confirmed_over=[],
        )

    def session_time():
        s = a_session()
        shift = timedelta(days=rnd.choice([-3, -1, 1, 3]), hours=rnd.choice([0, 1]))
        sessions.update_session(
            db.session,
            s,
            title=s.title,
            starts_at=s.starts_at + shift,
            ends_at=s.ends_at + shift,
            venue=s.venue,
            description=s.description,
            now=NOW,
        )

    def status():
        s = a_session()
        change = rnd.choice(
            [
                sessions.cancel_session,
                sessions.reinstate_session,
                sessions.mark_not_held,
                sessions.mark_held,
            ]
        )
        change(s, now=NOW)

    def advance():
        # The cron's run: the watermark only moves forward, at times around the sessions.
        upto = watermark(db.session) or NOW - timedelta(days=25)
        advance_ties(db.session, now=upto + timedelta(days=rnd.choice([1, 2, 5])))

    operations = [assign] * 6 + [sign_up, cancel, move, promote, attendance, attendance]
    operations += [confirm, slot_time, session_time, status, advance]
    advance_ties(db.session, now=NOW - timedelta(days=25))
    db.session.commit()
    done: set[str] = set()
    for step in range(70):
        for _ in range(rnd.choice([1, 1, 2])):  # sometimes two changes in one transaction
            operation = rnd.choice(operations)
            try:
                operation()
                done.add(operation.__name__)
            except RuleViolation:
                db.session.rollback()
                break
        db.session.commit()
        if step % 10 == 9:
            assert_equals_rebuild()
    advance_ties(db.session, now=NOW)
    assert_equals_rebuild()
    assert tables()[0], "the history has ties"
    assert len(done) >= 10, done  # most kinds of change happened


def test_rebuild_ties_prints_counts_and_a_send_reminders_run_advances(make, runner):
    organizer = make.user()
    group = make.group(organizer)
    ai, bo = make.member(group), make.member(group)
    session = make.session(group, day=date.today() - timedelta(days=3))
    setup = slots_of(session)["setup"]
    for member in (ai, bo):
        organizing.assign(db.session, organizer=organizer, member=member, slot=setup, now=NOW)
    db.session.commit()
    result = runner.invoke(args=["rebuild-ties"])
    assert result.exit_code == 0, result.output
    assert "ties: 2 rows (1 pairs per group), roles: 2 rows, sessions counted: 1" in result.output
    # Places in a session that starts later are added by the next cron run.
    soon = make.session(group, day=date.today() + timedelta(days=1))
    for member in (ai, bo):
        organizing.assign(
            db.session, organizer=organizer, member=member, slot=slots_of(soon)["setup"], now=NOW
        )
    db.session.commit()
    advance_ties(db.session, now=soon.starts_at + timedelta(minutes=1))
    db.session.commit()
    assert db.session.scalar(sa.select(Tie.sessions).where(Tie.user_id == ai.id)) == 2
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "sessions added to the co-working ties: 0" in result.output  # never goes back
    assert db.session.scalar(sa.select(TieWatermark.upto)) > NOW


def test_a_change_in_an_unstarted_session_far_ahead_takes_no_recount(make, count_queries):
    """Sign-ups to sessions more than an hour away read the sessions, then stop: no lock."""
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group)
    rebuild_ties(db.session, now=NOW)
    db.session.commit()
    slot = slots_of(make.session(group, day=date.today() + timedelta(days=7)))["setup"]
    signups.sign_up(db.session, member=member, slot=slot, now=NOW)
    with count_queries() as q:
        db.session.commit()
    assert not any("advisory" in s or "DELETE FROM tie" in s for s in q.statements)
