from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from studygroup.sessions.services import cancel_session
from studygroup.signups.lists import member_records
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance, StaffingChange
from studygroup.signups.organizing import (
    AskFirst,
    answer_request,
    assign,
    confirm_attendance,
    move_in_waitlist,
    move_place,
    set_attendance,
)
from studygroup.signups.places import staffing_for
from studygroup.signups.services import cancel_place, sign_up
from tests.factories import slots_of


def now():
    return datetime.now(UTC)


@pytest.fixture
def team(make):
    organizer = make.user(display_name="Organizer")
    group = make.group(organizer)
    members = [make.member(group, make.user(display_name=f"M{n}")) for n in range(4)]
    session = make.session(group, day=date.today() + timedelta(days=20))
    return organizer, group, members, session


def emails_to(user, kind=None):
    query = sa.select(OutboundEmail).where(OutboundEmail.user_id == user.id)
    if kind:
        query = query.where(OutboundEmail.kind == kind)
    return list(db.session.scalars(query))


def test_sign_up_fills_then_waitlists_then_promotes_on_cancel(team):
    organizer, group, (a, b, c, d), session = team
    reception = slots_of(session)["reception"]  # 2 places
    assert sign_up(db.session, member=a, slot=reception, now=now()).status == "confirmed"
    assert sign_up(db.session, member=b, slot=reception, now=now()).status == "confirmed"
    waiting_c = sign_up(db.session, member=c, slot=reception, now=now())
    waiting_d = sign_up(db.session, member=d, slot=reception, now=now())
    assert (waiting_c.status, waiting_d.status) == ("waitlisted", "waitlisted")
    db.session.commit()
    staffing = staffing_for(db.session, [session_with_slots(session)])[reception.id]
    assert (staffing.filled, staffing.needed, staffing.gap) == (2, 2, 0)
    assert [p.user_id for p in staffing.waitlist] == [c.id, d.id]

    place_a = staffing.place_of(a.id)
    promoted = cancel_place(db.session, place=place_a, actor=a, now=now(), by_organizer=False)
    db.session.commit()
    assert [p.user_id for p in promoted] == [c.id]
    assert db.session.get(Assignment, waiting_c.id).status == "confirmed"
    assert db.session.get(Assignment, waiting_d.id).status == "waitlisted"
    assert len(emails_to(c, "waitlist_promoted")) == 1
    assert len(emails_to(a, "place_cancelled")) == 1
    actions = [c.action for c in db.session.scalars(sa.select(StaffingChange))]
    assert actions.count("promoted") == 1 and "cancelled" in actions


def session_with_slots(session):
    from studygroup.sessions.services import get_session

    return get_session(db.session, session.group, session.id)


def test_refusals_have_reasons(team, make):
    organizer, group, (a, b, c, d), session = team
    slots = slots_of(session)
    sign_up(db.session, member=a, slot=slots["reception"], now=now())
    with pytest.raises(RuleViolation, match="already have a place"):
        sign_up(db.session, member=a, slot=slots["reception"], now=now())
    # Setup 9:00-10:00 and reception 9:30-10:30 overlap: a collision.
    with pytest.raises(RuleViolation, match="overlaps"):
        sign_up(db.session, member=a, slot=slots["setup"], now=now())
    with pytest.raises(RuleViolation, match="Join the group"):
        sign_up(db.session, member=make.user(), slot=slots["setup"], now=now())
    with pytest.raises(RuleViolation, match="title"):
        sign_up(db.session, member=b, slot=slots["speaker"], now=now())
    far = make.session(group, day=date.today() + timedelta(days=200))
    with pytest.raises(RuleViolation, match="not opened yet"):
        sign_up(db.session, member=b, slot=slots_of(far)["setup"], now=now())
    cancel_session(session, now=now())
    with pytest.raises(RuleViolation, match="cancelled"):
        sign_up(db.session, member=c, slot=slots["setup"], now=now())


def test_roles_whose_windows_do_not_overlap_can_be_combined(team, make):
    organizer, group, (a, *_), _session = team
    session = make.session(
        group, day=date.today() + timedelta(days=21), start=time(10), end=time(12)
    )
    slots = slots_of(session)
    # Setup 9:00-10:00 and the speaker 10:00-12:00 touch but do not overlap.
    sign_up(db.session, member=a, slot=slots["setup"], now=now())
    talk = sign_up(
        db.session,
        member=a,
        slot=slots["speaker"],
        now=now(),
        talk_title="Flask の話",
        talk_abstract="abstract",
    )
    assert talk.status == "requested"


def test_speaker_request_is_approved_or_declined(team):
    organizer, group, (a, b, *_), session = team
    speaker = slots_of(session)["speaker"]
    request = sign_up(db.session, member=a, slot=speaker, now=now(), talk_title="Typed SQLAlchemy")
    assert request.status == "requested"
    answer_request(db.session, organizer=organizer, place=request, approve=True, now=now())
    assert request.status == "confirmed"
    other = sign_up(db.session, member=b, slot=speaker, now=now(), talk_title="Another")
    outcome = answer_request(db.session, organizer=organizer, place=other, approve=False, now=now())
    assert outcome.place.status == "declined"
    db.session.commit()
    assert len(emails_to(a, "request_approved")) == 1
    assert len(emails_to(b, "request_declined")) == 1


def test_no_show_limit_turns_sign_ups_into_requests(team, make):
    organizer, group, (a, *_), session = team
    group.no_show_limit = 1
    past = make.session(group, day=date.today() - timedelta(days=30))
    place = assign(
        db.session, organizer=organizer, member=a, slot=slots_of(past)["setup"], now=now()
    ).place
    set_attendance(
        db.session, organizer=organizer, place=place, attendance=Attendance.NO_SHOW, now=now()
    )
    assert sign_up(db.session, member=a, slot=slots_of(session)["setup"], now=now()).status == (
        "requested"
    )


def test_self_cancel_deadline_binds_members_not_organizers(team, make):
    organizer, group, (a, *_), _session = team
    soon = make.session(
        group, day=date.today() + timedelta(days=1), start=time(23, 59), end=time(23, 59, 59)
    )
    group.self_cancel_hours_before = 72
    place = sign_up(db.session, member=a, slot=slots_of(soon)["speaker"], now=now(), talk_title="t")
    answer_request(db.session, organizer=organizer, place=place, approve=True, now=now())
    with pytest.raises(RuleViolation, match="72 hours"):
        cancel_place(db.session, place=place, actor=a, now=now(), by_organizer=False)
    cancel_place(db.session, place=place, actor=organizer, now=now(), by_organizer=True)
    assert place.status == "cancelled"


def test_organizer_assign_move_and_reorder(team):
    organizer, group, (a, b, c, d), session = team
    slots = slots_of(session)
    for m in (a, b):
        sign_up(db.session, member=m, slot=slots["reception"], now=now())
    waiting = [sign_up(db.session, member=m, slot=slots["reception"], now=now()) for m in (c, d)]
    # Assigning over capacity asks first (the role is full), then works.
    with pytest.raises(AskFirst) as asked:
        assign(db.session, organizer=organizer, member=c, slot=slots["reception"], now=now())
    assert asked.value.concerns.full and asked.value.concerns.waiting == []
    outcome = assign(
        db.session,
        organizer=organizer,
        member=c,
        slot=slots["reception"],
        now=now(),
        confirmed=asked.value.concerns.key,
    )
    assert outcome.place.id == waiting[0].id and outcome.place.status == "confirmed"
    # Reorder: nobody else waits now but d; moving d up is a no-op.
    move_in_waitlist(db.session, organizer=organizer, place=waiting[1], up=True, now=now())
    # Move a to cleanup-free speaker role: a leaves reception, d is promoted there?
    moved = move_place(
        db.session,
        organizer=organizer,
        place=staffing_place(slots["reception"], a),
        to_slot=slots["speaker"],
        now=now(),
    )
    assert moved.place.slot_id == slots["speaker"].id and moved.place.status == "confirmed"
    # Reception had 3 confirmed for 2 places: still full after a left, so d keeps waiting.
    assert moved.promoted == []
    db.session.commit()


def staffing_place(slot, user):
    return db.session.scalar(
        sa.select(Assignment).where(
            Assignment.slot_id == slot.id,
            Assignment.user_id == user.id,
            Assignment.status == AssignmentStatus.CONFIRMED,
        )
    )


def test_attendance_one_click_and_records(team, make):
    organizer, group, (a, b, c, d), _ = team
    past = make.session(group, day=date.today() - timedelta(days=7))
    slots = slots_of(past)
    places = [
        assign(db.session, organizer=organizer, member=m, slot=slots["setup"], now=now()).place
        for m in (a, b, c)
    ]
    set_attendance(
        db.session, organizer=organizer, place=places[2], attendance=Attendance.NO_SHOW, now=now()
    )
    assert confirm_attendance(db.session, organizer=organizer, session=past, now=now()) == 2
    db.session.commit()
    assert [p.attendance for p in places] == ["worked", "worked", "no_show"]
    records = {r.user.id: r for r in member_records(db.session, group, now=now())}
    assert records[a.id].sessions_worked == 1
    assert records[a.id].roles == {"Setup": 1}
    assert records[c.id].no_shows == 1 and records[c.id].sessions_worked == 0
    assert records[d.id].sessions_worked == 0


def test_a_place_changed_meanwhile_is_not_acted_on(team):
    organizer, group, (a, b, c, d), session = team
    reception = slots_of(session)["reception"]
    reception.headcount = 1
    sign_up(db.session, member=a, slot=reception, now=now())
    waiting = sign_up(db.session, member=b, slot=reception, now=now())
    db.session.commit()
    # The organizer's request loaded the waitlisted place...
    from sqlalchemy.orm import Session

    from studygroup.signups.organizing import promote_by_hand

    organizer_request = Session(db.engine)
    stale = organizer_request.get(Assignment, waiting.id)
    assert stale.status == "waitlisted"
    # ...then the member withdrew, before the organizer's click arrived.
    cancel_place(db.session, place=waiting, actor=b, now=now(), by_organizer=False)
    db.session.commit()
    with pytest.raises(RuleViolation, match="just changed"):
        promote_by_hand(organizer_request, organizer=organizer, place=stale, now=now())
    organizer_request.rollback()
    organizer_request.close()
    db.session.expire_all()
    assert db.session.get(Assignment, waiting.id).status == "cancelled"


def test_leaving_the_group_gives_up_future_places(client, auth, team):
    organizer, group, (a, b, c, d), session = team
    reception = slots_of(session)["reception"]
    reception.headcount = 1
    sign_up(db.session, member=a, slot=reception, now=now())
    sign_up(db.session, member=b, slot=reception, now=now())
    db.session.commit()
    auth.login_as(a)
    client.post(f"/g/{group.slug}/leave")
    statuses = dict(
        db.session.execute(
            sa.select(Assignment.user_id, Assignment.status).where(
                Assignment.slot_id == reception.id
            )
        ).all()
    )
    assert statuses == {a.id: "cancelled", b.id: "confirmed"}


def test_a_helper_added_afterwards_gets_no_email_and_no_full_warning(team, make):
    from studygroup.signups.organizing import add_helper

    organizer, group, (a, *_), _s = team
    done = make.session(group, day=date.today() - timedelta(days=2))
    slot = slots_of(done)["speaker"]
    assign(
        db.session,
        organizer=organizer,
        member=organizer_member(group, organizer),
        slot=slot,
        now=now(),
    )
    outcome = add_helper(db.session, organizer=organizer, member=a, slot=slot, now=now())
    assert outcome.warnings == [] and outcome.place.attendance == "worked"
    assert emails_to(a) == []


def organizer_member(group, organizer):
    return organizer


def test_organizers_are_not_bound_by_the_sign_up_window(team, make):
    organizer, group, (a, *_), _s = team
    far = make.session(group, day=date.today() + timedelta(days=200))
    with pytest.raises(RuleViolation, match="not opened yet"):
        sign_up(db.session, member=a, slot=slots_of(far)["setup"], now=now())
    place = sign_up(db.session, member=organizer, slot=slots_of(far)["setup"], now=now())
    assert place.status == "confirmed"
