"""Participants (参加者): registration, the waitlist, cancelling, questions, and the pages."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import MemberRole, Membership, MembershipStatus, Visibility
from studygroup.mail.models import OutboundEmail
from studygroup.participants.models import (
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from studygroup.participants.reminders import due_participant_reminders
from studygroup.participants.services import (
    cancel_registration,
    fill_participants_from_waitlist,
    my_registration,
    participant_counts,
    register,
    upcoming_registrations,
)
from studygroup.rules import RuleViolation
from studygroup.sessions.models import SessionStatus

REGISTERED, WAITLISTED, CANCELLED = (
    ParticipantStatus.REGISTERED,
    ParticipantStatus.WAITLISTED,
    ParticipantStatus.CANCELLED,
)


def now():
    return datetime.now(UTC)


def open_session(make, group, *, capacity=2, days=14, cancel_hours=0, **kwargs):
    """A session of `group` that takes `capacity` participants."""
    session = make.session(group, day=date.today() + timedelta(days=days), **kwargs)
    session.participant_capacity = capacity
    session.participant_cancel_hours_before = cancel_hours
    db.session.commit()
    return session


def ask(session, text, *, kind=QuestionKind.TEXT, required=False, position=0, retired=False):
    question = ParticipantQuestion(
        session_id=session.id,
        text=text,
        kind=kind,
        required=required,
        position=position,
        retired_at=now() if retired else None,
    )
    db.session.add(question)
    db.session.commit()
    return question


def sign(session, member, answers=None, at=None):
    participant = register(
        db.session, member=member, session=session, answers=answers or {}, now=at or now()
    )
    db.session.commit()
    return participant


# --- registering ------------------------------------------------------------------------------


def test_seats_then_the_waitlist_in_order_with_distinct_codes(make):
    group = make.group()
    session = open_session(make, group, capacity=2)
    people = [make.member(group) for _ in range(4)]
    result = [sign(session, p) for p in people]
    assert [p.status for p in result] == [REGISTERED, REGISTERED, WAITLISTED, WAITLISTED]
    assert [p.waitlist_position for p in result] == [None, None, 1, 2]
    assert result[0].registered_at is not None and result[2].registered_at is None
    assert len({p.code for p in result}) == 4
    assert all(re.fullmatch(r"[ACDEFHJKMNPQRTUVWXY3479]{6}", p.code) for p in result)
    assert participant_counts(db.session, [session]) == {session.id: (2, 2, 2)}
    kinds = db.session.scalars(sa.select(OutboundEmail.kind).order_by(OutboundEmail.id)).all()
    assert kinds == ["participant_registered"] * 2 + ["participant_waitlisted"] * 2


def test_refuses_a_session_that_takes_no_participants(make):
    group = make.group()
    session = make.session(group)
    with pytest.raises(RuleViolation, match="does not take participants"):
        register(db.session, member=make.member(group), session=session, answers={}, now=now())


@pytest.mark.parametrize("status", [SessionStatus.CANCELLED, SessionStatus.NOT_HELD])
def test_refuses_a_session_that_does_not_take_place(make, status):
    group = make.group()
    session = open_session(make, group)
    session.status = status
    db.session.commit()
    with pytest.raises(RuleViolation):
        register(db.session, member=make.member(group), session=session, answers={}, now=now())


def test_refuses_a_session_that_started(make):
    group = make.group()
    session = open_session(make, group)
    with pytest.raises(RuleViolation, match="already started"):
        register(
            db.session,
            member=make.member(group),
            session=session,
            answers={},
            now=session.starts_at + timedelta(minutes=1),
        )


def test_sign_up_window_binds_members_not_organizers(make):
    organizer = make.user()
    group = make.group(organizer)
    group.signup_opens_days_before = 7
    group.signup_closes_hours_before = 24
    session = open_session(make, group, days=14)
    member = make.member(group)
    with pytest.raises(RuleViolation, match="not opened"):
        register(db.session, member=member, session=session, answers={}, now=now())
    db.session.rollback()
    late = session.starts_at - timedelta(hours=2)
    with pytest.raises(RuleViolation, match="closed"):
        register(db.session, member=member, session=session, answers={}, now=late)
    db.session.rollback()
    assert sign(session, organizer).status == REGISTERED
    assert sign(session, member, at=session.starts_at - timedelta(days=3)).status == REGISTERED


def test_members_only_unless_open_to_all(make):
    group = make.group()
    session = open_session(make, group)
    outsider = make.user()
    with pytest.raises(RuleViolation, match="Join the group"):
        register(db.session, member=outsider, session=session, answers={}, now=now())
    db.session.rollback()
    left = make.member(group)
    db.session.execute(
        sa.update(Membership)
        .where(Membership.user_id == left.id)
        .values(status=MembershipStatus.LEFT)
    )
    db.session.commit()
    with pytest.raises(RuleViolation, match="Join the group"):
        register(db.session, member=left, session=session, answers={}, now=now())
    db.session.rollback()
    group.participants_open_to_all = True
    db.session.commit()
    assert sign(session, outsider).status == REGISTERED


def test_open_to_all_still_keeps_a_members_only_group_to_its_members(make):
    group = make.group(visibility=Visibility.MEMBERS)
    group.participants_open_to_all = True
    session = open_session(make, group)
    with pytest.raises(RuleViolation, match="Join the group"):
        register(db.session, member=make.user(), session=session, answers={}, now=now())


def test_a_second_live_registration_is_refused_but_after_cancelling_one_may_come_back(make):
    group = make.group()
    session = open_session(make, group)
    member = make.member(group)
    first = sign(session, member)
    with pytest.raises(RuleViolation, match="already registered"):
        register(db.session, member=member, session=session, answers={}, now=now())
    db.session.rollback()
    cancel_registration(db.session, participant=first, actor=member, now=now())
    db.session.commit()
    again = sign(session, member)
    assert again.id != first.id and again.status == REGISTERED
    assert my_registration(db.session, member, session).id == again.id


def test_the_unique_index_stops_two_live_registrations(make):
    group = make.group()
    session = open_session(make, group)
    member = make.member(group)
    sign(session, member)
    db.session.add(
        Participant(session_id=session.id, user_id=member.id, status=WAITLISTED, code="AAAAAA")
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_staff_need_not_register_and_may_do_both(make):
    from studygroup.sessions.models import RoleSlot
    from studygroup.signups.services import sign_up

    group = make.group()
    session = open_session(make, group)
    member = make.member(group)
    slot = db.session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    sign_up(db.session, member=member, slot=slot, now=now())
    db.session.commit()
    assert participant_counts(db.session, [session])[session.id] == (0, 2, 0)
    assert sign(session, member).status == REGISTERED


# --- questions ------------------------------------------------------------------------------


def test_answers_are_stored_and_retired_questions_not_asked(make):
    group = make.group()
    session = open_session(make, group)
    company = ask(session, "Your company", position=1)
    party = ask(session, "懇親会に参加しますか?", kind=QuestionKind.YES_NO, position=0)
    old = ask(session, "Old question", retired=True)
    participant = sign(
        session, make.member(group), {company.id: "  ACME   Inc ", party.id: "yes", old.id: "x"}
    )
    answers = dict(
        db.session.execute(
            sa.select(ParticipantAnswer.question_id, ParticipantAnswer.answer).where(
                ParticipantAnswer.participant_id == participant.id
            )
        ).all()
    )
    assert answers == {company.id: "ACME Inc", party.id: "yes"}


def test_required_and_yes_no_answers_are_checked(make):
    group = make.group()
    session = open_session(make, group)
    company = ask(session, "Your company", required=True)
    party = ask(session, "Party?", kind=QuestionKind.YES_NO)
    member = make.member(group)
    with pytest.raises(RuleViolation) as missing:
        register(db.session, member=member, session=session, answers={party.id: "yes"}, now=now())
    assert missing.value.field == f"q_{company.id}"
    db.session.rollback()
    with pytest.raises(RuleViolation) as neither:
        register(
            db.session,
            member=member,
            session=session,
            answers={company.id: "ACME", party.id: "maybe"},
            now=now(),
        )
    assert neither.value.field == f"q_{party.id}"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0
    assert sign(session, member, {company.id: "ACME"}).status == REGISTERED


# --- cancelling and promotion ------------------------------------------------------------------


def test_a_cancelled_seat_goes_to_the_first_in_line(make):
    group = make.group()
    session = open_session(make, group, capacity=1)
    a, b, c = (make.member(group) for _ in range(3))
    first, second, third = sign(session, a), sign(session, b), sign(session, c)
    promoted = cancel_registration(db.session, participant=first, actor=a, now=now())
    db.session.commit()
    assert [p.id for p in promoted] == [second.id]
    db.session.refresh(second)
    db.session.refresh(third)
    assert (second.status, third.status) == (REGISTERED, WAITLISTED)
    assert second.registered_at is not None
    assert participant_counts(db.session, [session])[session.id] == (1, 1, 1)
    last = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    assert (last.kind, last.user_id) == ("participant_promoted", b.id)


def test_leaving_the_waitlist_promotes_nobody(make):
    group = make.group()
    session = open_session(make, group, capacity=1)
    a, b, c = (make.member(group) for _ in range(3))
    sign(session, a)
    waiting_b, waiting_c = sign(session, b), sign(session, c)
    assert cancel_registration(db.session, participant=waiting_b, actor=b, now=now()) == []
    db.session.commit()
    db.session.refresh(waiting_c)
    assert waiting_c.status == WAITLISTED


def test_raising_the_capacity_fills_seats_in_line_order(make):
    group = make.group()
    session = open_session(make, group, capacity=1)
    people = [make.member(group) for _ in range(4)]
    waiting = [sign(session, p) for p in people][1:]
    # Swap the line by hand: position, not id, decides.
    for participant, position in zip(waiting, (9, 1, 5), strict=True):
        participant.waitlist_position = position
    session.participant_capacity = 3
    db.session.commit()
    promoted = fill_participants_from_waitlist(db.session, session, now=now())
    db.session.commit()
    assert [p.id for p in promoted] == [waiting[1].id, waiting[2].id]
    assert participant_counts(db.session, [session])[session.id] == (3, 3, 1)


def test_the_member_cancels_until_the_deadline_organizers_until_the_start(make):
    organizer = make.user()
    group = make.group(organizer)
    session = open_session(make, group, capacity=5, cancel_hours=48)
    member = make.member(group)
    participant = sign(session, member)
    late = session.starts_at - timedelta(hours=47)
    with pytest.raises(RuleViolation, match="48 hours before the start"):
        cancel_registration(db.session, participant=participant, actor=member, now=late)
    db.session.rollback()
    other = make.member(group)
    with pytest.raises(RuleViolation, match="Only the member or an organizer"):
        cancel_registration(db.session, participant=participant, actor=other, now=now())
    db.session.rollback()
    with pytest.raises(RuleViolation, match="already started"):
        cancel_registration(
            db.session, participant=participant, actor=organizer, now=session.starts_at
        )
    db.session.rollback()
    cancel_registration(db.session, participant=participant, actor=organizer, now=late)
    db.session.commit()
    db.session.refresh(participant)
    assert participant.status == CANCELLED and participant.cancelled_at is not None
    with pytest.raises(RuleViolation, match="already cancelled"):
        cancel_registration(db.session, participant=participant, actor=organizer, now=late)


def test_the_member_cancels_just_before_the_deadline(make):
    group = make.group()
    session = open_session(make, group, capacity=5, cancel_hours=48)
    member = make.member(group)
    participant = sign(session, member)
    cancel_registration(
        db.session,
        participant=participant,
        actor=member,
        now=session.starts_at - timedelta(hours=48),
    )
    db.session.commit()
    assert participant.status == CANCELLED


def test_participants_are_not_coworkers(make):
    from studygroup.coworking.services import coworkers_of
    from studygroup.sessions.models import RoleSlot
    from studygroup.signups.services import sign_up

    group = make.group()
    session = open_session(make, group, capacity=5, days=2)
    a, b, staff = make.member(group), make.member(group), make.member(group)
    sign(session, a)
    sign(session, b)
    # A staff member who is also a participant co-works with the other staff only.
    sign(session, staff)
    slot = db.session.scalar(sa.select(RoleSlot).where(RoleSlot.session_id == session.id))
    slot.headcount = 2
    sign_up(db.session, member=staff, slot=slot, now=now())
    sign_up(db.session, member=b, slot=slot, now=now())
    db.session.commit()
    later = session.ends_at + timedelta(days=1)
    assert coworkers_of(db.session, a, viewer=a, now=later) == []
    assert [c.user_id for c in coworkers_of(db.session, b, viewer=b, now=later)] == [staff.id]
    assert [c.user_id for c in coworkers_of(db.session, staff, viewer=staff, now=later)] == [b.id]


# --- reading --------------------------------------------------------------------------------


def test_counts_for_many_sessions_in_one_query(make, count_queries):
    group = make.group()
    sessions = [open_session(make, group, capacity=3, days=10 + i) for i in range(6)]
    plain = make.session(group, day=date.today() + timedelta(days=40))
    for session in sessions[:3]:
        for _ in range(4):
            sign(session, make.member(group))
    from studygroup.sessions.models import StudySession

    loaded = db.session.scalars(sa.select(StudySession).order_by(StudySession.id)).all()
    with count_queries() as q:
        counts = participant_counts(db.session, loaded)
    assert q.count == 1
    assert counts == {
        **{s.id: (3, 3, 1) for s in sessions[:3]},
        **{s.id: (0, 3, 0) for s in sessions[3:]},
    }
    with count_queries() as q:
        assert participant_counts(db.session, [plain]) == {}
    assert q.count == 0


def test_upcoming_registrations_are_live_and_soonest_first(make):
    group = make.group()
    member = make.member(group)
    later = open_session(make, group, days=20)
    sooner = open_session(make, group, days=10)
    gone = open_session(make, group, days=5)
    sign(session=later, member=member)
    sign(session=sooner, member=member)
    cancel_registration(db.session, participant=sign(gone, member), actor=member, now=now())
    db.session.commit()
    mine = upcoming_registrations(db.session, member, now=now())
    assert [p.session_id for p in mine] == [sooner.id, later.id]


def test_reminders_follow_the_exactly_once_rule(make):
    from studygroup.signups.reminders import claim_reminders

    group = make.group()
    session = open_session(make, group, capacity=1, days=10)
    member, waiting = make.member(group), make.member(group)
    registered_long_ago = session.starts_at - timedelta(days=9)
    sign(session, member, at=registered_long_ago)
    sign(session, waiting, at=registered_long_ago)
    at = session.starts_at - timedelta(hours=23)
    due = due_participant_reminders(db.session, now=at)
    assert [(p.user_id, lead) for p, lead in due] == [(member.id, 24)]
    assert claim_reminders(db.session, now=at) == 1
    assert claim_reminders(db.session, now=at) == 0
    assert due_participant_reminders(db.session, now=at) == []
    key = db.session.scalar(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.kind == "participant_reminder")
    )
    assert key.startswith("participant-reminder:") and key.endswith(":24")


def test_no_reminder_for_a_lead_passed_before_the_seat(make):
    group = make.group()
    session = open_session(make, group, capacity=1, days=10)
    sign(session, make.member(group), at=session.starts_at - timedelta(hours=20))
    assert due_participant_reminders(db.session, now=session.starts_at - timedelta(hours=10)) == []


def test_the_reminder_setting_turns_it_off(make):
    from studygroup.signups.reminders import claim_reminders

    group = make.group()
    session = open_session(make, group, capacity=1, days=10)
    member = make.member(group)
    member.email_reminders = False
    db.session.commit()
    sign(session, member, at=session.starts_at - timedelta(days=9))
    assert claim_reminders(db.session, now=session.starts_at - timedelta(hours=23)) == 0


def _organizer(group):
    return db.session.scalar(
        sa.select(Membership).where(
            Membership.group_id == group.id, Membership.role == MemberRole.ORGANIZER
        )
    )


# --- pages ----------------------------------------------------------------------------------


def test_the_session_page_shows_the_count_and_a_register_button(client, auth, make):
    group = make.group()
    session = open_session(make, group, capacity=40)
    plain = make.session(group, day=date.today() + timedelta(days=40))
    for _ in range(2):
        sign(session, make.member(group))
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "2 / 40 registered" in page and "Log in to register" in page
    assert "Participants" not in client.get(f"/g/{group.slug}/sessions/{plain.id}").get_data(
        as_text=True
    )
    auth.login_as(make.member(group))
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert f'href="/g/{group.slug}/sessions/{session.id}/register"' in page
    auth.login_as(make.user())  # not a member: the group's choice says no
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Join the group to register." in page


def test_the_session_page_in_japanese_shows_the_waitlist(client, auth, make):
    group = make.group()
    session = open_session(make, group, capacity=1)
    sign(session, make.member(group))
    sign(session, make.member(group))
    auth.login_as(make.member(group, make.user(locale="ja")))
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "1 / 1人 参加登録" in page and "キャンセル待ち1人" in page
    assert "キャンセル待ち" in page


def test_logged_out_visitors_are_sent_to_log_in(client, make):
    group = make.group()
    session = open_session(make, group)
    response = client.get(f"/g/{group.slug}/sessions/{session.id}/register")
    assert response.status_code == 302 and "/login" in response.location
    response = client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    assert response.status_code == 302 and "/login" in response.location
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0


def test_register_with_questions_then_the_confirmation_page(client, auth, make):
    group = make.group()
    session = open_session(make, group, capacity=5, cancel_hours=24)
    party = ask(session, "懇親会に参加しますか?", kind=QuestionKind.YES_NO, position=2)
    company = ask(session, "Your company", required=True, position=1)
    ask(session, "Retired question", retired=True)
    member = make.member(group)
    auth.login_as(member)
    form = client.get(f"/g/{group.slug}/sessions/{session.id}/register").get_data(as_text=True)
    assert form.index("Your company (required)") < form.index("懇親会に参加しますか?")
    assert "Retired question" not in form
    assert 'type="radio"' in form and 'value="yes"' in form

    # A required answer missing: the page comes back with the other answers kept.
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/register", data={f"q_{party.id}": "yes"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please fill this in." in page
    assert re.search(r'<input[^>]*checked[^>]*value="yes"|value="yes"[^>]*checked', page)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0

    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/register",
        data={f"q_{company.id}": "ACME", f"q_{party.id}": "no"},
    )
    assert response.status_code == 302
    assert response.location.endswith(f"/g/{group.slug}/sessions/{session.id}/participation")
    participant = my_registration(db.session, member, session)
    page = client.get(response.location).get_data(as_text=True)
    assert participant.code in page and re.search(r'<svg [^>]*class="qr"', page)
    assert "ACME" in page and ">No<" in page
    assert "You can cancel until" in page and "Cancel my registration" in page
    # Registered already: the form sends them to their confirmation.
    again = client.get(f"/g/{group.slug}/sessions/{session.id}/register")
    assert again.status_code == 302 and again.location.endswith("/participation")


def test_a_yes_no_answer_must_be_yes_or_no(client, auth, make):
    group = make.group()
    session = open_session(make, group)
    party = ask(session, "Party?", kind=QuestionKind.YES_NO)
    auth.login_as(make.member(group))
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/register", data={f"q_{party.id}": "maybe"}
    )
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Participant)) == 0


def test_the_waitlisted_page_shows_the_number_and_no_qr(client, auth, make):
    group = make.group()
    session = open_session(make, group, capacity=1)
    sign(session, make.member(group))
    sign(session, make.member(group))
    member = make.member(group)
    auth.login_as(member)
    response = client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    page = client.get(response.location).get_data(as_text=True)
    assert "No. 2 in line" in page and "<svg" not in page
    assert "Leave the waitlist" in page


def test_cancel_from_the_page_and_the_deadline(client, auth, make):
    group = make.group()
    session = open_session(make, group, capacity=1, cancel_hours=24 * 30)
    member, waiting = make.member(group), make.member(group)
    participant = sign(session, member)
    sign(session, waiting)
    auth.login_as(member)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/participation").get_data(as_text=True)
    assert "The cancellation deadline has passed" in page
    client.post(f"/g/{group.slug}/participants/{participant.id}/cancel")
    assert participant.status == REGISTERED  # refused: past the deadline
    session.participant_cancel_hours_before = 1
    db.session.commit()
    response = client.post(f"/g/{group.slug}/participants/{participant.id}/cancel")
    assert response.status_code == 302
    assert participant.status == CANCELLED
    assert my_registration(db.session, waiting, session).status == REGISTERED
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/participation").get_data(as_text=True)
    assert "Registration cancelled" in page and "Register again" in page


def test_another_members_registration_is_403_another_groups_404(client, auth, make):
    group, other_group = make.group(), make.group()
    session = open_session(make, group)
    theirs = sign(session, make.member(group))
    auth.login_as(make.member(group))
    assert client.post(f"/g/{group.slug}/participants/{theirs.id}/cancel").status_code == 403
    from studygroup.auth.models import User

    make.member(other_group, db.session.get(User, theirs.user_id))
    assert client.post(f"/g/{other_group.slug}/participants/{theirs.id}/cancel").status_code == 404
    assert client.post(f"/g/{group.slug}/participants/999999/cancel").status_code == 404
    assert theirs.status == REGISTERED


def test_an_organizer_cancels_someones_registration(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    session = open_session(make, group)
    theirs = sign(session, make.member(group))
    auth.login_as(organizer)
    assert client.post(f"/g/{group.slug}/participants/{theirs.id}/cancel").status_code == 302
    assert theirs.status == CANCELLED


def test_pages_of_a_session_without_participants_or_a_hidden_group_are_404(client, auth, make):
    group = make.group()
    plain = make.session(group)
    auth.login_as(make.member(group))
    assert client.get(f"/g/{group.slug}/sessions/{plain.id}/register").status_code == 404
    assert client.get(f"/g/{group.slug}/sessions/{plain.id}/participation").status_code == 404
    hidden = make.group(visibility=Visibility.MEMBERS)
    hidden.participants_open_to_all = True
    db.session.commit()
    secret = open_session(make, hidden)
    assert client.get(f"/g/{hidden.slug}/sessions/{secret.id}/register").status_code == 404


def test_forms_need_the_csrf_token(app_factory, make):
    from studygroup.testing import IsolatedClient
    from tests.conftest import Auth

    app = app_factory(WTF_CSRF_ENABLED=True)
    app.test_client_class = IsolatedClient
    group = make.group()
    session = open_session(make, group)
    member = make.member(group)
    theirs = sign(session, make.member(group))
    client = app.test_client()
    Auth(client).login_as(member)
    response = client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    assert response.status_code in (400, 422)
    assert my_registration(db.session, member, session) is None
    Auth(client).login_as(db.session.get(type(member), theirs.user_id))
    client.post(f"/g/{group.slug}/participants/{theirs.id}/cancel")
    db.session.expire_all()
    assert theirs.status == REGISTERED


def test_the_group_page_shows_counts_in_a_fixed_number_of_queries(
    client, auth, make, count_queries
):
    group = make.group()
    auth.login_as(make.member(group))

    def group_page():
        with count_queries() as q:
            response = client.get(f"/g/{group.slug}")
        assert response.status_code == 200
        return response.get_data(as_text=True), q.count

    for n in range(2):
        sign(open_session(make, group, capacity=10, days=20 + n), make.member(group))
    page, few = group_page()
    assert page.count("1 / 10 registered") == 2
    for n in range(8):
        sign(open_session(make, group, capacity=10, days=30 + n), make.member(group))
    page, many = group_page()
    assert page.count("1 / 10 registered") == 10
    assert few == many


def test_my_schedule_lists_the_sessions_i_attend(client, auth, make, count_queries):
    group = make.group()
    member = make.member(group)
    full = open_session(make, group, capacity=1, days=12, title="Full meetup")
    sign(full, make.member(group))
    sign(full, member)
    sign(open_session(make, group, days=10, title="Spring meetup"), member)
    auth.login_as(member)
    with count_queries() as q:
        page = client.get("/schedule").get_data(as_text=True)
    few = q.count
    assert "Sessions you attend" in page
    assert page.index("Spring meetup") < page.index("Full meetup")
    assert "No. 1 in line" in page
    for n in range(5):
        sign(open_session(make, group, days=14 + n), member)
    with count_queries() as q:
        client.get("/schedule")
    assert q.count == few
