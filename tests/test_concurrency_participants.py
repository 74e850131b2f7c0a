"""Participant seats under concurrency: real threads, each with its own database connection,
as in test_concurrency (places). 200 registrations for 50 seats give exactly 50."""

import threading
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.participants.services import cancel_registration, register
from studygroup.rules import RuleViolation
from studygroup.sessions.models import StudySession

WORKERS = 20  # threads (connections) racing at once; each registers its share of members
MEMBERS = 200
SEATS = 50


def _racing_app(app_factory):
    # Every thread holds its own connection during the race: the pool must have room for all.
    return app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": WORKERS + 5, "max_overflow": 0, "pool_timeout": 60}
    )


def _race(app, batches, work):
    """Each thread runs `work(user_id)` for its batch, all threads starting at once; returns
    the outcomes."""
    barrier = threading.Barrier(len(batches), timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(batch):
        with app.app_context():
            barrier.wait()
            for user_id in batch:
                try:
                    result = work(user_id)
                    db.session.commit()
                except RuleViolation as refused:
                    db.session.rollback()
                    result = f"refused: {refused.message}"
                except sa.exc.IntegrityError:
                    db.session.rollback()
                    result = "refused by the unique index"
                finally:
                    db.session.remove()
                with lock:
                    outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(batch,)) for batch in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sum(map(len, batches)) == len(outcomes), "a thread did not finish"
    return outcomes


def _register(session_id):
    def work(user_id):
        user = db.session.get(User, user_id)
        session = db.session.get(StudySession, session_id)
        session.group  # noqa: B018  (loaded as a request would)
        participant = register(
            db.session, member=user, session=session, answers={}, now=datetime.now(UTC)
        )
        return participant.status.value

    return work


def _session(make, group, capacity):
    session = make.session(group, day=date.today() + timedelta(days=14))
    session.participant_capacity = capacity
    db.session.commit()
    return session


def _many_members(make, group, n):
    """Members without the password hashing of the factories (200 of them)."""
    from studygroup.groups.models import MemberRole, Membership, MembershipStatus

    now = datetime.now(UTC)
    users = [
        User(email=f"racer{i}-{group.id}@example.com", display_name=f"Racer {i}", password_hash="x")
        for i in range(n)
    ]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(
        Membership(
            user_id=u.id,
            group_id=group.id,
            role=MemberRole.MEMBER,
            status=MembershipStatus.ACTIVE,
            joined_at=now,
        )
        for u in users
    )
    db.session.commit()
    return [u.id for u in users]


def _batches(ids, workers=WORKERS):
    return [ids[i::workers] for i in range(workers)]


def test_two_hundred_registrations_for_fifty_seats(app_factory, make):
    app = _racing_app(app_factory)
    group = make.group()
    session = _session(make, group, SEATS)
    ids = _many_members(make, group, MEMBERS)
    outcomes = _race(app, _batches(ids), _register(session.id))
    assert sorted(set(outcomes)) == ["registered", "waitlisted"], set(outcomes)
    assert outcomes.count("registered") == SEATS
    rows = db.session.execute(
        sa.select(Participant.status, Participant.waitlist_position, Participant.code).where(
            Participant.session_id == session.id
        )
    ).all()
    statuses = [r.status for r in rows]
    assert statuses.count(ParticipantStatus.REGISTERED) == SEATS
    assert statuses.count(ParticipantStatus.WAITLISTED) == MEMBERS - SEATS
    positions = [r.waitlist_position for r in rows if r.status == ParticipantStatus.WAITLISTED]
    assert sorted(positions) == list(range(1, MEMBERS - SEATS + 1))
    assert len({r.code for r in rows}) == MEMBERS


def test_one_member_registering_twice_at_once_gets_one_registration(app_factory, make):
    app = _racing_app(app_factory)
    group = make.group()
    session = _session(make, group, 5)
    member = make.member(group)
    outcomes = _race(app, [[member.id]] * 10, _register(session.id))
    assert outcomes.count("registered") == 1
    assert all(o.startswith("refused") for o in outcomes if o != "registered"), outcomes
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Participant)
        .where(Participant.session_id == session.id)
    )
    assert count == 1


def test_cancellations_racing_registrations_never_overfill(app_factory, make):
    """Ten registered members cancel while ten more register: the seats stay at capacity, and
    every promotion takes a freed seat once."""
    app = _racing_app(app_factory)
    group = make.group()
    session = _session(make, group, 10)
    ids = _many_members(make, group, 30)
    holders, waiting, newcomers = ids[:10], ids[10:20], ids[20:]
    for user_id in holders + waiting:
        _register(session.id)(user_id)
        db.session.commit()
    by_user = dict(
        db.session.execute(
            sa.select(Participant.user_id, Participant.id).where(
                Participant.session_id == session.id
            )
        ).all()
    )

    def work(user_id):
        if user_id in by_user:
            participant = db.session.get(Participant, by_user[user_id])
            actor = db.session.get(User, user_id)
            cancel_registration(
                db.session, participant=participant, actor=actor, now=datetime.now(UTC)
            )
            return "cancelled"
        return _register(session.id)(user_id)

    batches = [[h, n] for h, n in zip(holders, newcomers, strict=True)]
    _race(app, batches, work)
    statuses = db.session.scalars(
        sa.select(Participant.status).where(Participant.session_id == session.id)
    ).all()
    assert statuses.count(ParticipantStatus.REGISTERED) == 10
    assert statuses.count(ParticipantStatus.WAITLISTED) == 10
    promoted = db.session.scalars(
        sa.select(Participant.user_id).where(
            Participant.session_id == session.id,
            Participant.status == ParticipantStatus.REGISTERED,
        )
    ).all()
    assert sorted(promoted) == sorted(waiting)  # the line comes first, newcomers wait
