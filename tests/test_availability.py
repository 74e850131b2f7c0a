"""'I can help' (studygroup.signups.availability): answers per session and per series,
history kept, the refusals, the read functions' results and query counts, and the fairness
count (offers without a place)."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Membership, RoleType
from studygroup.groups.services import leave_group
from studygroup.rules import RuleViolation
from studygroup.sessions.models import SessionStatus
from studygroup.sessions.series import create_series, monthly_rule, plan_series
from studygroup.sessions.services import cancel_session, get_session, mark_not_held
from studygroup.signups.availability import (
    answers_of,
    current_availability,
    helper_counts,
    offers_without_place,
)
from studygroup.signups.availability_changes import (
    end_series_availability,
    set_availability,
    set_series_availability,
    withdraw_availability,
)
from studygroup.signups.models import Availability, StaffingChange
from studygroup.signups.organizing import assign
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


def roles_of(group):
    return {
        r.key: r
        for r in db.session.scalars(sa.select(RoleType).where(RoleType.group_id == group.id))
    }


def loaded(group, session):
    return get_session(db.session, group, session.id)


def all_rows(user):
    return list(
        db.session.scalars(
            sa.select(Availability).where(Availability.user_id == user.id).order_by(Availability.id)
        )
    )


def post_series(group, organizer, *, months=4, first_day=None):
    first_day = first_day or (date.today() + timedelta(days=20))
    planned = plan_series(
        rule=monthly_rule([3], "SA"),
        first_day=first_day,
        months=months,
        start_time=time(10),
        end_time=time(12),
        tz=group.timezone,
        limit=50,
    )
    sessions = create_series(
        db.session,
        group=group,
        creator=organizer,
        title="Monthly meetup",
        rule=monthly_rule([3], "SA"),
        planned=planned,
        now=now(),
    )
    db.session.commit()
    return [loaded(group, s) for s in sessions]


@pytest.fixture
def team(make):
    organizer = make.user(display_name="Organizer")
    group = make.group(organizer)
    members = [make.member(group, make.user(display_name=f"M{n}")) for n in range(4)]
    session = make.session(group, day=date.today() + timedelta(days=20))
    return organizer, group, members, loaded(group, session)


def test_an_answer_changes_by_a_new_row_and_the_old_one_stays(team):
    organizer, group, (a, b, *_), session = team
    roles = roles_of(group)
    first = set_availability(db.session, member=a, session=session, any_role=True, now=now())
    db.session.commit()
    assert current_availability(db.session, [session])[session.id][a.id].id == first.id

    second = set_availability(
        db.session,
        member=a,
        session=session,
        any_role=False,
        role_type_ids=[roles["reception"].id, roles["setup"].id],
        note="  only until 11:00 ",
        now=now(),
    )
    db.session.commit()
    assert second.id != first.id
    assert second.role_type_ids == {roles["reception"].id, roles["setup"].id}
    assert second.note == "only until 11:00"
    rows = all_rows(a)
    assert [r.id for r in rows] == [first.id, second.id]
    assert rows[0].ended_at is not None and rows[1].ended_at is None

    # The same answer again writes nothing.
    again = set_availability(
        db.session,
        member=a,
        session=session,
        any_role=False,
        role_type_ids=[roles["setup"].id, roles["reception"].id],
        note="only until 11:00",
        now=now(),
    )
    assert again.id == second.id and len(all_rows(a)) == 2

    assert withdraw_availability(db.session, member=a, session=session, now=now()) is None
    db.session.commit()
    assert current_availability(db.session, [session]) == {session.id: {}}
    assert len(all_rows(a)) == 2 and all(r.ended_at is not None for r in all_rows(a))
    # Withdrawing twice is no error; nothing about places was logged.
    assert withdraw_availability(db.session, member=a, session=session, now=now()) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StaffingChange)) == 0


def test_refusals(team, make):
    organizer, group, (a, *_), session = team
    roles = roles_of(group)
    outsider = make.user()
    other_group = make.group()
    foreign_role = roles_of(other_group)["setup"]

    def refused(member=a, session=session, at=None, **kwargs):
        kwargs.setdefault("any_role", True)
        with pytest.raises(RuleViolation) as error:
            set_availability(db.session, member=member, session=session, now=at or now(), **kwargs)
        db.session.rollback()
        return error.value

    assert "Join the group" in str(refused(member=outsider).message)
    assert refused(note="x" * 201).field == "note"
    assert refused(any_role=False, role_type_ids=[]).field == "roles"
    assert refused(any_role=False, role_type_ids=[foreign_role.id]).field == "roles"
    assert "started" in str(refused(at=session.starts_at).message)

    reception = roles["reception"]
    reception.retired_at = now()
    db.session.commit()
    assert refused(any_role=False, role_type_ids=[reception.id]).field == "roles"

    cancel_session(session, now=now())
    db.session.commit()
    assert "cancelled" in str(refused().message)
    session.status = SessionStatus.SCHEDULED
    db.session.commit()

    # A note of exactly 200 characters is fine; nothing was saved by the refusals.
    assert all_rows(a) == []
    set_availability(
        db.session, member=a, session=session, any_role=True, note="x" * 200, now=now()
    )
    db.session.commit()
    assert len(all_rows(a)) == 1

    # Marked not held (possible once it started): no more changes.
    mark_not_held(session, now=session.starts_at)
    db.session.commit()
    with pytest.raises(RuleViolation) as error:
        withdraw_availability(db.session, member=a, session=session, now=now())
    assert "not held" in str(error.value.message)


def test_usually_available_applies_to_the_series_sessions_to_come(make):
    organizer = make.user()
    group = make.group(organizer)
    a, b = make.member(group), make.member(group)
    first, second, third, *_ = post_series(group, organizer)
    series = db.session.get(type(first.series), first.series_id)

    given = set_series_availability(
        db.session, member=a, series=series, any_role=True, note="mornings", now=now()
    )
    db.session.commit()
    found = current_availability(db.session, [first, second, third])
    assert all(a.id in found[sid] and found[sid][a.id].id == given.id for sid in found)

    # "Not this time" for the second session: a session answer that says no.
    not_this_time = withdraw_availability(db.session, member=a, session=second, now=now())
    db.session.commit()
    assert not_this_time is not None and not_this_time.can_help is False
    assert answers_of(db.session, a, second).not_this_time
    assert answers_of(db.session, a, second).effective is None
    assert answers_of(db.session, a, third).effective.id == given.id
    assert helper_counts(db.session, [first, second, third]) == {
        first.id: 1,
        second.id: 0,
        third.id: 1,
    }

    # A session answer with roles wins over the series one for that session only.
    reception = roles_of(group)["reception"]
    own = set_availability(
        db.session,
        member=a,
        session=second,
        any_role=False,
        role_type_ids=[reception.id],
        now=now(),
    )
    db.session.commit()
    found = current_availability(db.session, [first, second, third])
    assert found[second.id][a.id].id == own.id and found[third.id][a.id].id == given.id

    # A series answer does not reach sessions that started before it was given.
    assert current_availability(db.session, [first], user_ids=[a.id])[first.id] != {}
    later = first.starts_at + timedelta(minutes=1)
    set_series_availability(db.session, member=a, series=series, any_role=True, now=later)
    db.session.commit()
    assert current_availability(db.session, [first])[first.id] == {}

    end_series_availability(db.session, member=a, series=series, now=later)
    db.session.commit()
    found = current_availability(db.session, [first, second, third])
    assert found == {first.id: {}, second.id: {a.id: found[second.id][a.id]}, third.id: {}}
    assert found[second.id][a.id].id == own.id
    assert b.id not in found[second.id]


def test_members_who_left_do_not_count(team):
    organizer, group, (a, b, *_), session = team
    for member in (a, b):
        set_availability(db.session, member=member, session=session, any_role=True, now=now())
    db.session.commit()
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.user_id == b.id, Membership.group_id == group.id)
    )
    leave_group(db.session, membership, now=now())
    db.session.commit()
    assert set(current_availability(db.session, [session])[session.id]) == {a.id}
    assert helper_counts(db.session, [session]) == {session.id: 1}


def test_reading_takes_a_fixed_number_of_queries(make, count_queries):
    organizer = make.user()
    group = make.group(organizer)
    sessions = post_series(group, organizer, months=6)
    series = sessions[0].series
    reception = roles_of(group)["reception"]

    def counted(some):
        db.session.expire_all()
        some = [loaded(group, s) for s in some]
        with count_queries() as q:
            counts = helper_counts(db.session, some)
            found = current_availability(db.session, some)
            names = [row.user.display_name for rows in found.values() for row in rows.values()]
            roles = [row.role_type_ids for rows in found.values() for row in rows.values()]
        return counts, q.count, names, roles

    members = [make.member(group) for _ in range(3)]
    set_series_availability(db.session, member=members[0], series=series, any_role=True, now=now())
    set_availability(
        db.session,
        member=members[1],
        session=sessions[0],
        any_role=False,
        role_type_ids=[reception.id],
        now=now(),
    )
    db.session.commit()
    counts, few, *_ = counted(sessions[:2])
    assert counts == {sessions[0].id: 2, sessions[1].id: 1}

    for member in [make.member(group) for _ in range(6)]:
        set_series_availability(db.session, member=member, series=series, any_role=True, now=now())
        for s in sessions[:4]:
            set_availability(
                db.session,
                member=member,
                session=s,
                any_role=False,
                role_type_ids=[reception.id],
                note="late",
                now=now(),
            )
    db.session.commit()
    counts, many, names, roles = counted(sessions)
    assert counts[sessions[0].id] == 8 and counts[sessions[-1].id] == 7
    assert len(names) == sum(counts.values()) and {reception.id} in roles
    assert many == few <= 6


def test_offers_without_place_counts_offers_in_a_row(make):
    organizer = make.user()
    group = make.group(organizer)
    sessions = post_series(group, organizer, months=5)
    series = sessions[0].series
    waiting, placed_last, series_only, quiet = [make.member(group) for _ in range(4)]
    s0, s1, s2, s3, s4 = sessions[:5]
    early = now()

    for s in (s0, s1, s2, s3):
        set_availability(db.session, member=waiting, session=s, any_role=True, now=early)
        set_availability(db.session, member=placed_last, session=s, any_role=True, now=early)
    # Usually available, but "not this time" for s2.
    set_series_availability(db.session, member=series_only, series=series, now=early)
    withdraw_availability(db.session, member=series_only, session=s2, now=early)
    db.session.commit()
    # placed_last got a place in s2 (an organizer assigned it): the count starts after it.
    assign(
        db.session,
        organizer=organizer,
        member=placed_last,
        slot=slots_of(s2)["reception"],
        now=early,
    )
    db.session.commit()

    before = s4.starts_at
    ids = [waiting.id, placed_last.id, series_only.id, quiet.id]
    assert offers_without_place(db.session, group, ids, before=before) == {
        waiting.id: 4,
        placed_last.id: 1,
        series_only.id: 3,
        quiet.id: 0,
    }
    # Sessions from `before` on do not count.
    assert offers_without_place(db.session, group, [waiting.id], before=s2.starts_at) == {
        waiting.id: 2
    }
    # A cancelled session counts for nobody.
    cancel_session(db.session.get(type(s3), s3.id), now=now())
    db.session.commit()
    assert offers_without_place(db.session, group, [waiting.id], before=before) == {waiting.id: 3}


def test_offers_as_they_stood_when_the_session_started(make, count_queries):
    organizer = make.user()
    group = make.group(organizer)
    s0, s1 = post_series(group, organizer, months=2)[:2]
    series = s0.series
    late, ended = make.member(group), make.member(group)
    t = now()
    # Said "usually available" only after s0 had started: counts for s1 alone.
    set_series_availability(db.session, member=late, series=series, now=s0.starts_at)
    # Offered for s0, then withdrew before it started: no offer for s0.
    set_availability(db.session, member=ended, session=s0, any_role=True, now=t)
    withdraw_availability(db.session, member=ended, session=s0, now=t + timedelta(minutes=1))
    set_availability(db.session, member=ended, session=s1, any_role=True, now=t)
    db.session.commit()
    ids, before, _ = [late.id, ended.id], s1.starts_at + timedelta(days=1), group.slug
    with count_queries() as q:
        found = offers_without_place(db.session, group, ids, before=before)
    assert found == {late.id: 1, ended.id: 1}
    assert q.count <= 3
    assert offers_without_place(db.session, group, [], before=now()) == {}
