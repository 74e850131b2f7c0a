"""Lowering a role's head-count below the people confirmed names who would be over it and asks
first; confirming keeps everyone, shown as over the head-count (issue 9, #8)."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.signups.models import Assignment, AssignmentStatus, StaffingChange
from studygroup.signups.organizing import change_slot
from studygroup.signups.services import sign_up
from tests.factories import slots_of


def _crew(make, n=3):
    organizer = make.user(display_name="Organizer")
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=12))
    setup = slots_of(session)["setup"]  # 3 places, 9:00-10:00
    people = []
    for name in ("Aya", "Bo", "Chie", "Dai")[:n]:
        person = make.member(group, make.user(display_name=name))
        sign_up(db.session, member=person, slot=setup, now=datetime.now(UTC))
        db.session.commit()
        people.append(person)
    return organizer, group, session, setup, people


def _form(setup, headcount, **extra):
    prefix = f"slot{setup.id}"
    data = {
        f"{prefix}-headcount": str(headcount),
        f"{prefix}-start_time": "09:00",
        f"{prefix}-end_time": "10:00",
    }
    data.update({f"{prefix}-{k}": v for k, v in extra.items()})
    return data


def test_lowering_below_the_confirmed_asks_and_names_who_is_over(client, auth, make):
    organizer, group, session, setup, (aya, bo, chie) = _crew(make)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/slots/{setup.id}"
    asked = client.post(url, data=_form(setup, 1))
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "3 people already have a place as Setup; the new head-count is 1." in page
    # The last to get a place first.
    assert "Over the new head-count (the last to get a place first):" in page
    assert page.index("Chie", page.index("the last to get")) < page.index(
        "Bo", page.index("the last to get")
    )
    assert "Nobody is removed" in page
    db.session.refresh(setup)
    assert setup.headcount == 3  # nothing changed yet

    over_ids = [
        p.id
        for p in db.session.scalars(
            sa.select(Assignment).where(Assignment.user_id.in_([bo.id, chie.id]))
        )
    ]
    confirmed = client.post(url, data=_form(setup, 1, confirm_over=",".join(map(str, over_ids))))
    assert confirmed.status_code == 302
    db.session.refresh(setup)
    assert setup.headcount == 1
    statuses = db.session.scalars(
        sa.select(Assignment.status).where(Assignment.slot_id == setup.id)
    )
    assert list(statuses) == [AssignmentStatus.CONFIRMED] * 3  # nobody removed
    staffing = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    assert staffing.count("over the head-count") == 2
    assert "lowered the head-count below the people confirmed" in staffing
    assert "(Setup 3 → 1: Chie, Bo)" in staffing
    # Stored as data (ids and numbers), named in the reader's language when shown.
    detail = db.session.scalar(
        sa.select(StaffingChange.detail).where(StaffingChange.action == "headcount_lowered")
    )
    assert "Setup" not in detail and "Chie" not in detail


def test_a_confirmation_that_no_longer_matches_asks_again(make):
    organizer, _group, _session, setup, (aya, bo) = _crew(make, n=2)
    now = datetime.now(UTC)
    times = dict(starts_at=setup.starts_at, ends_at=setup.ends_at, now=now)
    first = change_slot(db.session, organizer=organizer, slot=setup, headcount=1, **times)
    assert not first.saved and [p.user.display_name for p in first.over] == ["Bo"]
    seen = [p.id for p in first.over]
    db.session.rollback()
    # Meanwhile Chie signs up: the organizer confirmed "Bo" only, so it asks again.
    chie = make.member(_group, make.user(display_name="Chie"))
    sign_up(db.session, member=chie, slot=setup, now=now)
    db.session.commit()
    again = change_slot(
        db.session, organizer=organizer, slot=setup, headcount=1, confirmed_over=seen, **times
    )
    assert not again.saved and [p.user.display_name for p in again.over] == ["Chie", "Bo"]


def test_editing_only_the_window_of_a_role_already_over_asks_nothing(make):
    organizer, _group, _session, setup, _people = _crew(make, n=3)
    now = datetime.now(UTC)
    times = dict(starts_at=setup.starts_at, ends_at=setup.ends_at, now=now)
    change_slot(
        db.session,
        organizer=organizer,
        slot=setup,
        headcount=2,
        confirmed_over=[
            db.session.scalars(sa.select(Assignment.id).order_by(Assignment.id.desc())).first()
        ],
        **times,
    )
    db.session.commit()
    moved = change_slot(
        db.session,
        organizer=organizer,
        slot=setup,
        headcount=2,
        starts_at=setup.starts_at - timedelta(minutes=15),
        ends_at=setup.ends_at,
        now=now,
    )
    assert moved.saved and moved.over == []


def test_raising_the_head_count_moves_the_waitlist_up_in_the_same_step(client, auth, make):
    organizer, group, session, setup, people = _crew(make, n=3)
    dai = make.member(group, make.user(display_name="Dai"))
    waiting = sign_up(db.session, member=dai, slot=setup, now=datetime.now(UTC))
    db.session.commit()
    assert waiting.status == AssignmentStatus.WAITLISTED
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{setup.id}",
        data=_form(setup, 4),
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "Dai moved up from the waitlist. Dai is told by email." in page
    assert db.session.get(Assignment, waiting.id).status == AssignmentStatus.CONFIRMED
