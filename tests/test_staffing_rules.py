"""Staffing rules found in the trial and the review of issue 9 (round 2).

A move keeps the member's talk (T1); a request holds no time, like a waitlist place (T5);
organizers are asked before they over-fill a role, pass its waitlist or overlap a member's
roles, and nothing is saved until they confirm that very situation (T7); a cancelled session
whose time has passed is not put back on, and no one is emailed about it (R5); the waitlist
history is written once per reason, as data, and shown in the reader's language (R7), read in
a fixed number of queries (R12); a move names its role through the form (R19).
"""

import re
from datetime import date, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import MemberRole
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.sessions.services import reinstate_session
from studygroup.signups.forms import PlaceActionForm
from studygroup.signups.models import Assignment, AssignmentStatus, StaffingChange
from studygroup.signups.organizing import AskFirst, answer_request, assign
from studygroup.signups.places import lock_slot
from studygroup.signups.services import cancel_place, fill_from_waitlist, sign_up
from tests.factories import slots_of
from tests.test_overlap_rule import now


def live_place(user, session):
    return db.session.scalar(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(
            Assignment.user_id == user.id,
            RoleSlot.session_id == session.id,
            Assignment.status == AssignmentStatus.CONFIRMED,
        )
    )


def confirm_key(page: str) -> str:
    """The situation the question on the page asks the organizer to confirm."""
    match = re.search(r'name="confirmed" value="([^"]*)"', page)
    assert match, "the page asks nothing"
    return unescape(match.group(1))


def emails(user, kind):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(OutboundEmail.user_id == user.id, OutboundEmail.kind == kind)
    )


@pytest.fixture
def world(make):
    """A session in 20 days: setup 9:00-10:00 (3), reception 9:30-10:30 (2), speaker
    10:00-12:00 (1, needs approval); four members, nobody on a role yet."""
    organizer = make.user(display_name="Olga")
    group = make.group(organizer)
    people = [make.member(group, make.user(display_name=n)) for n in ("Aki", "Ben", "Cho", "Dan")]
    session = make.session(group, day=date.today() + timedelta(days=20))
    return organizer, group, session, slots_of(session), people


# --- T1: a move keeps the talk ------------------------------------------------------------


def test_moving_a_speaker_away_and_back_keeps_the_talk(world, client, auth):
    organizer, group, session, slots, (aki, *_) = world
    talk = sign_up(
        db.session,
        member=aki,
        slot=slots["speaker"],
        now=now(),
        talk_title="First steps in open source",
        talk_abstract="What tripped me up before my first pull request.",
    )
    answer_request(db.session, organizer=organizer, place=talk, approve=True, now=now())
    db.session.commit()
    auth.login_as(organizer)

    moved = client.post(
        f"/g/{group.slug}/places/{talk.id}",
        data={"action": "move", "to_slot_id": slots["setup"].id},
    )
    assert moved.status_code == 302
    in_setup = live_place(aki, session)
    assert in_setup.slot_id == slots["setup"].id
    # In setup the talk is not shown as hers to give, but the organizer sees it is kept.
    public = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "First steps in open source" not in public
    staffing = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    assert "Talk kept: “First steps in open source”" in staffing

    client.post(
        f"/g/{group.slug}/places/{in_setup.id}",
        data={"action": "move", "to_slot_id": slots["speaker"].id},
    )
    back = live_place(aki, session)
    assert (back.slot_id, back.talk_title, back.talk_abstract) == (
        slots["speaker"].id,
        "First steps in open source",
        "What tripped me up before my first pull request.",
    )
    public = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "“First steps in open source”" in public


# --- T5: a request holds no time ------------------------------------------------------------


def test_a_pending_request_does_not_block_another_role(world, client, auth):
    _organizer, group, session, slots, (_aki, ben, *_) = world
    sign_up(db.session, member=ben, slot=slots["speaker"], now=now(), talk_title="Typing")
    db.session.commit()
    auth.login_as(ben)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Overlaps your place" not in page
    assert f'action="/g/{group.slug}/slots/{slots["reception"].id}/signup"' in page

    assert client.post(f"/g/{group.slug}/slots/{slots['reception'].id}/signup").status_code == 302
    assert live_place(ben, session).slot_id == slots["reception"].id
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert (
        "You hold Reception at an overlapping time: the organizer sees that before answering"
        in page
    )


def test_a_request_cannot_be_made_for_a_time_the_member_holds(world):
    _organizer, _group, _session, slots, (aki, *_) = world
    sign_up(db.session, member=aki, slot=slots["reception"], now=now())
    with pytest.raises(RuleViolation, match="overlaps with your place as Reception"):
        sign_up(db.session, member=aki, slot=slots["speaker"], now=now(), talk_title="T")


# --- T7: ask first ----------------------------------------------------------------------------


def test_approving_a_request_that_overlaps_asks_first(world, client, auth):
    organizer, group, session, slots, (_aki, ben, *_) = world
    request = sign_up(db.session, member=ben, slot=slots["speaker"], now=now(), talk_title="T")
    sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    db.session.commit()
    auth.login_as(organizer)
    url = f"/g/{group.slug}/places/{request.id}"

    asked = client.post(url, data={"action": "approve"})
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Approve Ben&#39;s request for Speaker?" in page
    assert "Ben also holds Reception 09:30–10:30" in page
    assert "Approve anyway" in page
    db.session.expire_all()
    assert db.session.get(Assignment, request.id).status == AssignmentStatus.REQUESTED
    assert emails(ben, "request_approved") == 0

    done = client.post(url, data={"action": "approve", "confirmed": confirm_key(page)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Assignment, request.id).status == AssignmentStatus.CONFIRMED


def test_approving_into_a_full_role_asks_and_organize_says_it_is_full(world, client, auth):
    organizer, group, _session, slots, (aki, ben, *_) = world
    first = sign_up(db.session, member=aki, slot=slots["speaker"], now=now(), talk_title="A")
    answer_request(db.session, organizer=organizer, place=first, approve=True, now=now())
    second = sign_up(db.session, member=ben, slot=slots["speaker"], now=now(), talk_title="B")
    db.session.commit()
    auth.login_as(organizer)

    organize = client.get("/organize").get_data(as_text=True)
    row = organize[organize.index(f"place-{second.id}") :]
    row = row[: row.index("</li>")]
    assert "Speaker is full (1/1)" in row

    # From /organize: the question comes first, and confirming returns to /organize.
    asked = client.post(
        f"/g/{group.slug}/places/{second.id}", data={"action": "approve", "back": "organize"}
    )
    page = asked.get_data(as_text=True)
    assert "Speaker is full (1/1)" in page
    assert '<input type="hidden" name="back" value="organize">' in page
    db.session.expire_all()
    assert db.session.get(Assignment, second.id).status == AssignmentStatus.REQUESTED
    done = client.post(
        f"/g/{group.slug}/places/{second.id}",
        data={"action": "approve", "back": "organize", "confirmed": confirm_key(page)},
    )
    assert done.status_code == 302 and "/organize" in done.headers["Location"]
    db.session.expire_all()
    assert db.session.get(Assignment, second.id).status == AssignmentStatus.CONFIRMED


def test_assigning_past_the_waitlist_names_who_waits_and_saves_nothing_first(
    world, client, auth, make
):
    organizer, group, session, slots, (aki, ben, _cho, dan) = world
    sneaky = make.member(group, make.user(display_name='<a href="https://evil.example">X</a>'))
    for member in (aki, ben, sneaky):
        sign_up(db.session, member=member, slot=slots["reception"], now=now())
    db.session.commit()
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing/assign"
    form = {"slot_id": slots["reception"].id, "user_id": dan.id}

    asked = client.post(url, data=form)
    assert asked.status_code == 200
    page = asked.get_data(as_text=True)
    assert "Assign Dan to Reception?" in page
    assert "Reception is full (2/2)" in page
    assert "1 person waits on the waitlist: &lt;a href=" in page
    assert '<a href="https://evil.example">' not in page
    assert live_place(dan, session) is None
    assert emails(dan, "assigned") == 0

    # A confirmation with anything but what was asked asks again.
    again = client.post(url, data={**form, "confirmed": "full:2/2"})
    assert "Assign anyway" in again.get_data(as_text=True)
    assert live_place(dan, session) is None

    done = client.post(url, data={**form, "confirmed": confirm_key(page)})
    assert done.status_code == 302
    assert live_place(dan, session).slot_id == slots["reception"].id


def test_a_confirmation_for_another_situation_asks_again(world):
    organizer, _group, session, slots, (aki, ben, cho, dan) = world
    reception = slots["reception"]
    for member in (aki, ben):
        sign_up(db.session, member=member, slot=reception, now=now())
    db.session.commit()
    with pytest.raises(AskFirst) as asked:
        assign(db.session, organizer=organizer, member=dan, slot=reception, now=now())
    db.session.rollback()
    seen = asked.value.concerns.key
    assert seen == "full:2/2"
    # Meanwhile Cho joins the waitlist: the organizer did not see that.
    sign_up(db.session, member=cho, slot=reception, now=now())
    db.session.commit()
    with pytest.raises(AskFirst) as again:
        assign(
            db.session, organizer=organizer, member=dan, slot=reception, now=now(), confirmed=seen
        )
    db.session.rollback()
    assert [p.user_id for p in again.value.concerns.waiting] == [cho.id]
    assert live_place(dan, session) is None
    outcome = assign(
        db.session,
        organizer=organizer,
        member=dan,
        slot=reception,
        now=now(),
        confirmed=again.value.concerns.key,
    )
    db.session.commit()
    assert outcome.place.status == AssignmentStatus.CONFIRMED


def test_a_move_into_a_full_role_asks_first(world, client, auth):
    organizer, group, session, slots, (aki, ben, cho, _dan) = world
    for member in (aki, ben):
        sign_up(db.session, member=member, slot=slots["reception"], now=now())
    setup = sign_up(db.session, member=cho, slot=slots["setup"], now=now())
    db.session.commit()
    auth.login_as(organizer)
    asked = client.post(
        f"/g/{group.slug}/places/{setup.id}",
        data={"action": "move", "to_slot_id": slots["reception"].id},
    )
    page = asked.get_data(as_text=True)
    assert "Move Cho from Setup to Reception?" in page and "Reception is full (2/2)" in page
    assert live_place(cho, session).slot_id == slots["setup"].id


# --- R5: a past cancelled session stays cancelled --------------------------------------------


def test_a_cancelled_session_whose_time_passed_is_not_put_back_on(make, client, auth):
    organizer = make.user(display_name="Olga")
    group = make.group(organizer)
    aki = make.member(group, make.user(display_name="Aki"))
    session = make.session(group, day=date.today() - timedelta(days=3))
    assign(db.session, organizer=organizer, member=aki, slot=slots_of(session)["setup"], now=now())
    # Cancelled in advance, days before it was due.
    session.status = SessionStatus.CANCELLED
    session.cancelled_at = session.starts_at - timedelta(days=2)
    db.session.execute(sa.delete(OutboundEmail))
    db.session.commit()

    with pytest.raises(RuleViolation, match="cannot be put back on"):
        reinstate_session(session, now=now())
    db.session.rollback()

    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Hold it after all" not in page
    assert "It was held after all" in page
    client.post(f"/g/{group.slug}/sessions/{session.id}/reinstate")
    db.session.expire_all()
    assert db.session.get(StudySession, session.id).status == SessionStatus.CANCELLED
    assert emails(aki, "session_changed") == 0

    # It took place after all: counted as held, with no email about a session that is over.
    client.post(f"/g/{group.slug}/sessions/{session.id}/held")
    db.session.expire_all()
    held = db.session.get(StudySession, session.id)
    assert (held.status, held.cancelled_at) == (SessionStatus.SCHEDULED, None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0


def test_a_cancelled_session_still_to_come_can_be_held_after_all(make):
    group = make.group()
    session = make.session(group, day=date.today() + timedelta(days=3))
    session.status = SessionStatus.CANCELLED
    reinstate_session(session, now=now())
    assert session.status == SessionStatus.SCHEDULED


# --- R7 and R12: the waitlist's history ------------------------------------------------------


@pytest.fixture
def blocked(world):
    """Setup has one place, held by Aki. Ben waits for it first but holds reception, whose
    time overlaps; Cho waits second."""
    organizer, group, session, slots, (aki, ben, cho, dan) = world
    slots["setup"].headcount = 1
    db.session.commit()
    held = sign_up(db.session, member=aki, slot=slots["setup"], now=now())
    ben_waiting = sign_up(db.session, member=ben, slot=slots["setup"], now=now())
    sign_up(db.session, member=ben, slot=slots["reception"], now=now())
    cho_waiting = sign_up(db.session, member=cho, slot=slots["setup"], now=now())
    db.session.commit()
    return organizer, group, session, slots, held, ben_waiting, cho_waiting


def test_a_member_passed_by_is_logged_once_per_blocking_place(blocked):
    organizer, _group, _session, _slots, held, ben_waiting, cho_waiting = blocked
    ben = ben_waiting.user
    cancel_place(db.session, place=held, actor=held.user, now=now(), by_organizer=False)
    db.session.commit()
    cancel_place(
        db.session, place=cho_waiting, actor=cho_waiting.user, now=now(), by_organizer=False
    )
    db.session.commit()
    log = db.session.scalars(
        sa.select(StaffingChange).where(
            StaffingChange.assignment_id == ben_waiting.id,
            StaffingChange.action == "passed_over",
        )
    ).all()
    assert len(log) == 1
    assert emails(ben, "waitlist_passed_over") == 1
    assert db.session.get(Assignment, ben_waiting.id).status == AssignmentStatus.WAITLISTED


def test_the_history_names_roles_in_the_readers_language(blocked, client, auth, make):
    organizer, group, session, slots, held, _ben_waiting, cho_waiting = blocked
    organizer.locale = "ja"
    english = make.member(
        group, make.user(display_name="Emma", locale="en"), role=MemberRole.ORGANIZER
    )
    # A line written as text before details were data stays readable.
    db.session.add(
        StaffingChange(
            session_id=session.id, action="moved", detail="受付 → 片付け", created_at=now()
        )
    )
    db.session.commit()

    auth.login_as(organizer)  # reads Japanese
    client.post(
        f"/g/{group.slug}/places/{held.id}",
        data={"action": "move", "to_slot_id": slots["reception"].id},
    )
    # Cho moved up to setup (Ben holds reception); the organizer lowers setup to none.
    cho_place = live_place(cho_waiting.user, session)
    prefix = f"slot{slots['setup'].id}"
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/slots/{slots['setup'].id}",
        data={
            f"{prefix}-headcount": "0",
            f"{prefix}-start_time": "09:00",
            f"{prefix}-end_time": "10:00",
            f"{prefix}-confirm_over": str(cho_place.id),
        },
    )
    stored = db.session.scalars(
        sa.select(StaffingChange.detail).where(
            StaffingChange.action.in_(("moved", "passed_over", "headcount_lowered"))
        )
    ).all()
    assert not any("設営" in d or "受付" in d for d in stored if d != "受付 → 片付け")

    auth.login_as(english)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing").get_data(as_text=True)
    history = page[page.index("<h2>History</h2>") :]
    assert "(Setup → Reception)" in history
    assert "(holds Reception)" in history
    assert "(Setup 1 → 0: Cho)" in history
    assert "(受付 → 片付け)" in history  # the old line, as it was written


def test_the_waitlist_refill_reads_in_a_fixed_number_of_queries(make, count_queries):
    def selects_of_a_refill(waiting: int) -> int:
        organizer = make.user()
        group = make.group(organizer)
        session = make.session(group, day=date.today() + timedelta(days=20))
        slots = slots_of(session)
        slots["setup"].headcount = 1
        slots["reception"].headcount = waiting
        db.session.commit()
        sign_up(db.session, member=make.member(group), slot=slots["setup"], now=now())
        for _ in range(waiting):
            member = make.member(group)
            sign_up(db.session, member=member, slot=slots["setup"], now=now())
            sign_up(db.session, member=member, slot=slots["reception"], now=now())
        db.session.commit()
        slots["setup"].headcount = 2
        db.session.commit()
        fill_from_waitlist(db.session, lock_slot(db.session, slots["setup"].id), now=now())
        db.session.commit()  # everyone waiting is passed by, and told, once
        db.session.expire_all()
        with count_queries() as queries:
            slot = lock_slot(db.session, slots["setup"].id)
            assert fill_from_waitlist(db.session, slot, now=now()) == []
        db.session.commit()
        return sum(1 for q in queries.statements if q.lstrip().upper().startswith("SELECT"))

    assert selects_of_a_refill(1) == selects_of_a_refill(5)


# --- R19: the form says what a move needs ----------------------------------------------------


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"action": "move"}, {"to_slot_id": ["Choose the role to move Aki to."]}),
        (
            {"action": "move", "to_slot_id": ""},
            {"to_slot_id": ["Choose the role to move Aki to."]},
        ),
        (
            {"action": "move", "to_slot_id": "２"},
            {"to_slot_id": ["Choose the role to move Aki to."]},
        ),
        ({"action": "move", "to_slot_id": "7"}, {}),
        ({"action": "remove"}, {}),
        ({"action": "remove", "to_slot_id": ""}, {}),
    ],
)
def test_only_a_move_needs_the_role_to_move_to(app, data, errors):
    with app.test_request_context(method="POST", data=data):
        form = PlaceActionForm(meta={"csrf": False}, member_name="Aki")
        form.validate()
        assert form.errors == errors


def test_a_move_without_a_role_says_so(world, client, auth):
    organizer, group, _session, slots, (aki, *_) = world
    place = sign_up(db.session, member=aki, slot=slots["setup"], now=now())
    db.session.commit()
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/places/{place.id}", data={"action": "move"}, follow_redirects=True
    )
    assert "Choose the role to move Aki to." in response.get_data(as_text=True)


def test_members_joining_the_waitlist_meanwhile_are_never_passed_unseen(app_factory, make):
    """The organizer confirmed "full, nobody waiting" while members join the waitlist at the
    same moment: either the assignment comes first (they wait behind it), or it asks again."""
    import threading

    from studygroup.auth.models import User

    members = 8
    app = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": members + 5, "max_overflow": 0, "pool_timeout": 30}
    )
    organizer = make.user()
    group = make.group(organizer)
    session = make.session(group, day=date.today() + timedelta(days=14))
    reception = slots_of(session)["reception"]
    for _ in range(2):
        sign_up(db.session, member=make.member(group), slot=reception, now=now())
    dan = make.member(group)
    joiners = [make.member(group).id for _ in range(members)]
    db.session.commit()
    ids = {"organizer": organizer.id, "dan": dan.id, "slot": reception.id}
    barrier = threading.Barrier(members + 1, timeout=30)
    outcome: dict[str, object] = {}

    def join(user_id):
        with app.app_context():
            user, slot = db.session.get(User, user_id), db.session.get(RoleSlot, ids["slot"])
            slot.session.group  # noqa: B018  (loaded before the race, as a request would)
            slot.role_type  # noqa: B018
            barrier.wait()
            try:
                outcome[f"joined {user_id}"] = sign_up(
                    db.session, member=user, slot=slot, now=now()
                ).status.value
                db.session.commit()
            except Exception as error:  # shown by the assertion below
                db.session.rollback()
                outcome[f"joined {user_id}"] = repr(error)
            finally:
                db.session.remove()

    def assign_dan():
        with app.app_context():
            slot = db.session.get(RoleSlot, ids["slot"])
            slot.session.group  # noqa: B018
            by, member = db.session.get(User, ids["organizer"]), db.session.get(User, ids["dan"])
            barrier.wait()
            try:
                place = assign(
                    db.session,
                    organizer=by,
                    member=member,
                    slot=slot,
                    now=now(),
                    confirmed="full:2/2",
                ).place
                db.session.commit()
                outcome["assigned"] = place.id
            except AskFirst as asked:
                db.session.rollback()
                outcome["asked"] = len(asked.concerns.waiting)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=join, args=(uid,)) for uid in joiners]
    threads.append(threading.Thread(target=assign_dan))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [outcome[f"joined {u}"] for u in joiners] == ["waitlisted"] * members, outcome
    db.session.expire_all()
    waiting = db.session.scalars(
        sa.select(Assignment.id).where(
            Assignment.slot_id == reception.id, Assignment.status == AssignmentStatus.WAITLISTED
        )
    ).all()
    assert len(waiting) == members
    if "assigned" in outcome:
        assert all(place_id > outcome["assigned"] for place_id in waiting)
    else:
        assert outcome["asked"] >= 1
        assert live_place(dan, session) is None
