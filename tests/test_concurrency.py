"""Capacity under concurrency: real threads, each with its own database connection."""

import threading
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.signups.services import sign_up

THREADS = 20


def _race(app, user_ids, slot_id):
    """Every thread signs its user up for the slot at the same moment; returns outcomes."""
    barrier = threading.Barrier(len(user_ids), timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(user_id):
        with app.app_context():
            user = db.session.get(User, user_id)
            slot = db.session.get(RoleSlot, slot_id)
            slot.session.group  # noqa: B018  (load before the race, as a request would)
            slot.role_type  # noqa: B018
            barrier.wait()
            try:
                place = sign_up(db.session, member=user, slot=slot, now=datetime.now(UTC))
                db.session.commit()
                result = place.status.value
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

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in user_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == len(user_ids), "a thread did not finish"
    return outcomes


def _last_place_slot(make, group):
    session = make.session(group, day=date.today() + timedelta(days=14))
    slot = db.session.scalar(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.position)
    )
    slot.headcount = 1
    db.session.commit()
    return slot


def _racing_app(app_factory):
    # Every thread holds its own connection during the race: the pool must have room for all.
    return app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": THREADS + 5, "max_overflow": 0, "pool_timeout": 30}
    )


def test_twenty_members_race_for_the_last_place(app_factory, make):
    app = _racing_app(app_factory)
    group = make.group()
    members = [make.member(group) for _ in range(THREADS)]
    slot = _last_place_slot(make, group)
    outcomes = _race(app, [m.id for m in members], slot.id)
    assert sorted(outcomes) == ["confirmed"] + ["waitlisted"] * (THREADS - 1)
    statuses = db.session.scalars(
        sa.select(Assignment.status).where(Assignment.slot_id == slot.id)
    ).all()
    assert statuses.count(AssignmentStatus.CONFIRMED) == 1
    assert statuses.count(AssignmentStatus.WAITLISTED) == THREADS - 1


def test_one_member_racing_duplicate_sign_ups_gets_one_place(app_factory, make):
    app = _racing_app(app_factory)
    group = make.group()
    member = make.member(group)
    slot = _last_place_slot(make, group)
    outcomes = _race(app, [member.id] * 10, slot.id)
    assert outcomes.count("confirmed") == 1
    assert all(o.startswith("refused") for o in outcomes if o != "confirmed"), outcomes
    live = db.session.scalar(
        sa.select(sa.func.count()).select_from(Assignment).where(Assignment.slot_id == slot.id)
    )
    assert live == 1


def test_one_member_racing_for_two_overlapping_roles_gets_one(app_factory, make):
    app = _racing_app(app_factory)
    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=14))
    setup, reception = db.session.scalars(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.position)
    ).all()[:2]  # setup 9:00-10:00 and reception 9:30-10:30 overlap
    barrier = threading.Barrier(2, timeout=30)
    outcomes = []
    member_id, slot_ids = member.id, (setup.id, reception.id)  # read here, not in the threads

    def attempt(slot_id):
        with app.app_context():
            user = db.session.get(User, member_id)
            slot = db.session.get(RoleSlot, slot_id)
            slot.session.group  # noqa: B018
            slot.role_type  # noqa: B018
            barrier.wait()
            try:
                sign_up(db.session, member=user, slot=slot, now=datetime.now(UTC))
                db.session.commit()
                outcomes.append("placed")
            except RuleViolation:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(slot_id,)) for slot_id in slot_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["placed", "refused"]
