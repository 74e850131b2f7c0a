"""The organizers' side of participants: session settings, questions, the group setting, the
participant list with answers (and its statement count), the CSV, cancelling, and access."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.participants.models import (
    Participant,
    ParticipantAnswer,
    ParticipantQuestion,
    ParticipantStatus,
    QuestionKind,
)
from studygroup.participants.organize import (
    MAX_QUESTIONS,
    add_question,
    change_participant_settings,
    participant_list,
)
from studygroup.participants.services import register
from studygroup.rules import RuleViolation

NOW = datetime.now(UTC)


class FormValues(HTMLParser):
    """What a browser sends for the page's own POST form (the first one with no action: the
    page's main form; buttons elsewhere post to their own addresses), as shown."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, str] = {}
        self._in_form = self._done = False
        self._textarea = self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        post = (a.get("method") or "").lower() == "post"
        if tag == "form" and not self._done and post and not a.get("action"):
            self._in_form = True
        if not self._in_form or not a.get("name"):
            if tag == "option" and self._select and "selected" in a:
                self.data[self._select] = a.get("value", "")
            return
        kind = (a.get("type") or "text").lower()
        if tag == "input" and kind in ("checkbox", "radio"):
            if "checked" in a:
                self.data[a["name"]] = a.get("value", "y")
        elif tag == "input" and kind != "submit":
            self.data[a["name"]] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        if tag == "select":
            self._select = None
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True


def form_of(client, url: str) -> dict[str, str]:
    page = client.get(url)
    assert page.status_code == 200
    reader = FormValues()
    reader.feed(page.get_data(as_text=True))
    return reader.data


def participant(session, user, status=ParticipantStatus.REGISTERED, *, position=None, **extra):
    row = Participant(
        session_id=session.id,
        user_id=user.id,
        status=status,
        waitlist_position=position,
        registered_at=NOW if status == ParticipantStatus.REGISTERED else None,
        cancelled_at=NOW if status == ParticipantStatus.CANCELLED else None,
        **extra,
    )
    db.session.add(row)
    db.session.flush()
    return row


def question(session, text, kind=QuestionKind.TEXT, position=0):
    row = ParticipantQuestion(session_id=session.id, text=text, kind=kind, position=position)
    db.session.add(row)
    db.session.flush()
    return row


def answer(who, asked, text):
    db.session.add(ParticipantAnswer(participant_id=who.id, question_id=asked.id, answer=text))


def bulk_users(n: int, prefix: str) -> list[User]:
    """Many users without hashing passwords (the statement-count test needs hundreds)."""
    users = [
        User(
            email=f"{prefix}{i}@example.com",
            password_hash="-",
            display_name=f"{prefix} {i:03d}",
        )
        for i in range(n)
    ]
    db.session.add_all(users)
    db.session.flush()
    return users


@pytest.fixture
def seated(make):
    """A session with 3 seats, taken by Ai, Bo and Chie; Dai and Emi wait (Emi first)."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    session = make.session(group, title="第5回")
    session.participant_capacity = 3
    people = {
        name: make.member(group, make.user(display_name=name))
        for name in ("Ai", "Bo", "Chie", "Dai", "Emi")
    }
    rows = {name: participant(session, people[name]) for name in ("Ai", "Bo", "Chie")}
    rows["Dai"] = participant(session, people["Dai"], ParticipantStatus.WAITLISTED, position=2)
    rows["Emi"] = participant(session, people["Emi"], ParticipantStatus.WAITLISTED, position=1)
    db.session.commit()
    return organizer, group, session, rows


def edit_url(group, session):
    return f"/g/{group.slug}/sessions/{session.id}/edit"


# --- session settings -----------------------------------------------------------------------


def test_an_organizer_turns_participants_on_with_a_capacity(client, organizer_and_group, make):
    organizer, group = organizer_and_group
    session = make.session(group)
    data = form_of(client, edit_url(group, session))
    assert "takes_participants" not in data  # off until turned on
    data.update(takes_participants="y", participant_capacity="", participant_cancel_hours_before="")
    refused = client.post(edit_url(group, session), data=data)
    assert refused.status_code == 422
    assert "Give the number of seats to take participants." in refused.get_data(as_text=True)
    db.session.refresh(session)
    assert not session.takes_participants

    data.update(participant_capacity="40", participant_cancel_hours_before="24")
    saved = client.post(edit_url(group, session), data=data, follow_redirects=True)
    assert "The session is saved." in saved.get_data(as_text=True)
    db.session.refresh(session)
    assert (session.participant_capacity, session.participant_cancel_hours_before) == (40, 24)
    # The form shows what is saved, and the session page links to the list.
    again = form_of(client, edit_url(group, session))
    assert again["takes_participants"] == "y" and again["participant_capacity"] == "40"
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert f"/g/{group.slug}/sessions/{session.id}/participants" in page
    staffing = client.get(f"/g/{group.slug}/sessions/{session.id}/staffing")
    assert f'/sessions/{session.id}/participants"' in staffing.get_data(as_text=True)

    data.pop("takes_participants")
    client.post(edit_url(group, session), data=data)
    db.session.refresh(session)
    assert not session.takes_participants  # nobody registered: turning it off is fine


def _sessions_of(group):
    from studygroup.sessions.models import StudySession

    db.session.expire_all()
    return db.session.scalars(
        sa.select(StudySession).where(StudySession.group_id == group.id).order_by("starts_at")
    ).all()


def test_a_new_session_takes_participants_from_its_own_form(client, organizer_and_group):
    """The new-session form has the edit form's participants fieldset: no need to edit the
    session after posting it."""
    organizer, group = organizer_and_group
    new_url = f"/g/{group.slug}/sessions/new"
    data = form_of(client, new_url)
    assert "takes_participants" not in data and data["participant_cancel_hours_before"] == "0"
    in_a_week = (NOW + timedelta(days=7)).date().isoformat()
    data.update(title="第7回", day=in_a_week, start_time="19:00", end_time="21:00")
    data.update(takes_participants="y", participant_capacity="")
    refused = client.post(new_url, data=data).get_data(as_text=True)
    assert "Give the number of seats to take participants." in refused
    assert 'value="第7回"' in refused  # what was typed stays
    assert _sessions_of(group) == []

    data.update(participant_capacity="30", participant_cancel_hours_before="24")
    posted = client.post(new_url, data=data, follow_redirects=True).get_data(as_text=True)
    assert "The session is posted." in posted
    [session] = _sessions_of(group)
    assert (session.participant_capacity, session.participant_cancel_hours_before) == (30, 24)
    assert f"/g/{group.slug}/sessions/{session.id}/register" in posted

    # A capacity typed with the box left unticked takes nobody.
    data.pop("takes_participants")
    data.update(day=(NOW + timedelta(days=14)).date().isoformat())
    client.post(new_url, data=data)
    later = _sessions_of(group)[-1]
    assert later.id != session.id and not later.takes_participants
    assert later.participant_cancel_hours_before == 24


def test_each_session_of_a_new_series_takes_participants(client, organizer_and_group):
    organizer, group = organizer_and_group
    series_url = f"/g/{group.slug}/series/new"
    data = form_of(client, series_url)
    assert "participant_capacity" in data
    first = (NOW + timedelta(days=7)).date()
    data.update(
        title="月例会",
        pattern="weekly",
        weekday="SA",
        interval="1",
        first_day=first.isoformat(),
        months="1",
        start_time="10:00",
        end_time="12:00",
        takes_participants="y",
        participant_capacity="0",
        participant_cancel_hours_before="12",
    )
    data.pop("preview", None)
    refused = client.post(series_url, data=data).get_data(as_text=True)
    [capacity_input] = re.findall(r'<input[^>]*id="participant_capacity"[^>]*>', refused)
    assert 'aria-invalid="true"' in capacity_input  # said next to the field
    assert _sessions_of(group) == []

    data.update(participant_capacity="20")
    assert client.post(series_url, data=data).status_code == 302
    sessions = _sessions_of(group)
    assert len(sessions) >= 4
    assert {(s.participant_capacity, s.participant_cancel_hours_before) for s in sessions} == {
        (20, 12)
    }


@pytest.mark.parametrize("capacity", ["0", "-1", "１０", "abc"])
def test_a_capacity_must_be_a_positive_whole_number(client, organizer_and_group, make, capacity):
    organizer, group = organizer_and_group
    session = make.session(group)
    data = form_of(client, edit_url(group, session))
    data.update(takes_participants="y", participant_capacity=capacity)
    assert client.post(edit_url(group, session), data=data).status_code == 422
    db.session.refresh(session)
    assert session.participant_capacity is None


def test_capacity_below_the_registered_is_refused_and_above_promotes_in_line(client, auth, seated):
    organizer, group, session, rows = seated
    auth.login_as(organizer)
    data = form_of(client, edit_url(group, session))
    data.update(participant_capacity="2", title="第5回 (changed)")
    refused = client.post(edit_url(group, session), data=data)
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "3 people are registered already: the capacity cannot be lower than that." in body
    assert 'value="第5回 (changed)"' in body  # what was typed is kept
    db.session.refresh(session)
    assert (session.participant_capacity, session.title) == (3, "第5回")

    data.update(participant_capacity="4")
    saved = client.post(edit_url(group, session), data=data, follow_redirects=True)
    assert "Moved up from the waitlist: Emi." in saved.get_data(as_text=True)
    db.session.refresh(rows["Emi"])
    db.session.refresh(rows["Dai"])
    assert rows["Emi"].status == ParticipantStatus.REGISTERED  # first in line, not first made
    assert rows["Emi"].registered_at is not None
    assert rows["Dai"].status == ParticipantStatus.WAITLISTED


def test_turning_participants_off_with_registrations_is_refused(client, auth, seated):
    organizer, group, session, rows = seated
    auth.login_as(organizer)
    data = form_of(client, edit_url(group, session))
    data.pop("takes_participants")
    refused = client.post(edit_url(group, session), data=data)
    assert refused.status_code == 422
    assert "5 people are registered or waiting" in refused.get_data(as_text=True)
    db.session.refresh(session)
    assert session.participant_capacity == 3


def test_settings_service_refuses_what_the_form_cannot_send(seated):
    organizer, group, session, rows = seated
    with pytest.raises(RuleViolation) as refused:
        change_participant_settings(
            db.session, session, takes=True, capacity=None, cancel_hours_before=0, now=NOW
        )
    assert refused.value.field == "participant_capacity"
    db.session.rollback()
    promoted = change_participant_settings(
        db.session, session, takes=True, capacity=10, cancel_hours_before=0, now=NOW
    )
    assert [p.id for p in promoted] == [rows["Emi"].id, rows["Dai"].id]


# --- the group setting ----------------------------------------------------------------------


def test_group_setting_lets_anyone_with_an_account_register(client, organizer_and_group):
    organizer, group = organizer_and_group
    url = f"/g/{group.slug}/edit"
    data = form_of(client, url)
    assert "participants_open_to_all" not in data
    page = client.get(url).get_data(as_text=True)
    assert "Anyone with an account may register as a participant (not only members)" in page
    data["participants_open_to_all"] = "y"
    assert client.post(url, data=data).status_code == 302
    db.session.refresh(group)
    assert group.participants_open_to_all
    data.pop("participants_open_to_all")
    client.post(url, data=data)
    db.session.refresh(group)
    assert not group.participants_open_to_all


# --- questions ------------------------------------------------------------------------------


def questions_url(group, session):
    return f"/g/{group.slug}/sessions/{session.id}/participants/questions"


def asked(session, retired=False):
    query = sa.select(ParticipantQuestion).where(ParticipantQuestion.session_id == session.id)
    if not retired:
        query = query.where(ParticipantQuestion.retired_at.is_(None))
    return list(
        db.session.scalars(query.order_by(ParticipantQuestion.position, ParticipantQuestion.id))
    )


def test_questions_are_added_reordered_edited_and_removed(client, organizer_and_group, make):
    organizer, group = organizer_and_group
    session = make.session(group)
    url = questions_url(group, session)
    assert client.get(url).status_code == 200
    client.post(url, data={"text": "Your company", "kind": "text"})
    client.post(url, data={"text": "懇親会に参加しますか？", "kind": "yes_no", "required": "y"})
    company, party = asked(session)
    assert (company.kind, company.required) == (QuestionKind.TEXT, False)
    assert (party.kind, party.required) == (QuestionKind.YES_NO, True)

    client.post(f"{url}/{party.id}/move", data={"direction": "up"})
    assert [q.text for q in asked(session)] == ["懇親会に参加しますか？", "Your company"]
    client.post(f"{url}/{party.id}/move", data={"direction": "up"})  # already first
    assert [q.text for q in asked(session)] == ["懇親会に参加しますか？", "Your company"]
    client.post(f"{url}/{party.id}/move", data={"direction": "down"})
    assert [q.text for q in asked(session)] == ["Your company", "懇親会に参加しますか？"]
    assert client.post(f"{url}/{party.id}/move", data={"direction": "sideways"}).status_code == 400

    client.post(f"{url}/{company.id}", data={f"q{company.id}-text": "Company or school"})
    db.session.refresh(company)
    assert company.text == "Company or school"
    blank = client.post(f"{url}/{company.id}", data={f"q{company.id}-text": "   "})
    assert blank.status_code == 422 and "Please fill this in." in blank.get_data(as_text=True)

    # Unanswered: deleted. Answered: only retired, its answers kept.
    someone = participant(session, make.member(group))
    answer(someone, party, "yes")
    db.session.commit()
    company_id, party_id = company.id, party.id
    client.post(f"{url}/{company_id}/remove")
    client.post(f"{url}/{party_id}/remove")
    db.session.expire_all()
    assert db.session.get(ParticipantQuestion, company_id) is None
    assert asked(session) == []
    assert [q.text for q in asked(session, retired=True)] == ["懇親会に参加しますか？"]
    assert db.session.get(ParticipantAnswer, (someone.id, party_id)).answer == "yes"
    page = client.get(url).get_data(as_text=True)
    assert "No longer asked" in page and "懇親会に参加しますか？" in page


def test_question_limits_are_said_next_to_the_field(client, organizer_and_group, make):
    organizer, group = organizer_and_group
    session = make.session(group)
    url = questions_url(group, session)
    too_long = client.post(url, data={"text": "あ" * 201, "kind": "text"})
    assert too_long.status_code == 422
    assert "あ" * 201 in too_long.get_data(as_text=True)  # what was typed stays
    assert client.post(url, data={"text": "Q", "kind": "essay"}).status_code == 422
    for n in range(MAX_QUESTIONS):
        client.post(url, data={"text": f"Question {n}", "kind": "text"})
    assert len(asked(session)) == MAX_QUESTIONS
    page = client.get(url).get_data(as_text=True)
    assert "the most it can" in page and "Add the question" not in page
    with pytest.raises(RuleViolation):
        add_question(
            db.session, session, text="Eleventh", kind=QuestionKind.TEXT, required=False, now=NOW
        )
    db.session.rollback()
    assert len(asked(session)) == MAX_QUESTIONS


# --- the list -------------------------------------------------------------------------------


def list_url(group, session):
    return f"/g/{group.slug}/sessions/{session.id}/participants"


def test_the_list_shows_each_part_with_answers(client, auth, seated, make):
    organizer, group, session, rows = seated
    company = question(session, "Your company", position=0)
    party = question(session, "懇親会に参加しますか？", QuestionKind.YES_NO, position=1)
    answer(rows["Ai"], company, "Example株式会社")
    answer(rows["Ai"], party, "yes")
    answer(rows["Bo"], party, "no")
    db.session.get(User, rows["Ai"].user_id).reading = "あい"
    rows["Bo"].checked_in_at = datetime(2030, 1, 5, 1, 7, tzinfo=UTC)  # 10:07 in Tokyo
    rows["Chie"].walk_in = True
    gone = participant(session, make.member(group, make.user(display_name="Fumi")), "cancelled")
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(list_url(group, session)).get_data(as_text=True)
    assert "Registered: 3 of 3" in page and "Waitlist: 2" in page and "Checked in: 1" in page
    assert "Your company" in page and "Example株式会社" in page and "あい" in page
    assert "10:07" in page and "Walk-in" in page
    waitlist = page[page.index('id="waitlist"') :]
    assert waitlist.index("Emi") < waitlist.index("Dai")  # in line
    cancelled = page[page.index('<details class="definitions" id="cancelled"') :]
    assert "Fumi" in cancelled and f"participant-{gone.id}" in cancelled
    assert "Fumi" not in page[: page.index('id="cancelled"')]

    found = client.get(list_url(group, session), query_string={"q": "dai"}).get_data(as_text=True)
    tables = found.split("<h2>", 1)[1]
    assert "Dai" in tables and "Emi" not in tables and "Ai" not in tables
    assert '<td data-label="No.">2</td>' in tables  # second in line, though found alone
    by_code = client.get(list_url(group, session), query_string={"q": rows["Bo"].code.lower()})
    tables = by_code.get_data(as_text=True).split("<h2>", 1)[1]
    assert "Bo" in tables and "Chie" not in tables
    listing = participant_list(db.session, session, search=rows["Bo"].code)
    assert [r.participant.id for r in listing.registered.rows] == [rows["Bo"].id]


def test_the_list_is_the_same_statements_for_3_and_300(client, auth, make, count_queries):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)

    def session_with(n):
        session = make.session(group, day=NOW.date() + timedelta(days=10 + n))
        session.participant_capacity = n
        asked = [question(session, "Company"), question(session, "Party?", QuestionKind.YES_NO)]
        for i, user in enumerate(bulk_users(n + n // 3, f"p{n}-")):
            status = ParticipantStatus.REGISTERED if i < n else ParticipantStatus.WAITLISTED
            row = participant(session, user, status, position=i if i >= n else None)
            answer(row, asked[0], f"Company {i}")
            answer(row, asked[1], "yes")
        db.session.commit()
        return session

    small, large = session_with(3), session_with(300)
    counts = {}
    for session in (small, large):
        db.session.expire_all()
        with count_queries() as q:
            response = client.get(list_url(group, session), query_string={"all": "1"})
        assert response.status_code == 200
        counts[session.id] = q.count
    assert counts[small.id] == counts[large.id]
    page = response.get_data(as_text=True)
    assert page.count("Company 2") >= 1 and "p300- 299" in page and "p300- 399" in page
    # Without "all", each part shows 100 and a link to the rest.
    first = client.get(list_url(group, large)).get_data(as_text=True)
    assert "p300- 099" in first and "p300- 100" not in first and "Show all 300" in first


def test_an_organizer_cancels_a_participant_and_the_first_waiting_moves_up(client, auth, seated):
    organizer, group, session, rows = seated
    auth.login_as(organizer)
    url = f"{list_url(group, session)}/{rows['Bo'].id}/cancel"
    page = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Bo&#39;s registration is cancelled." in page
    assert "Emi moved up from the waitlist." in page
    db.session.expire_all()
    bo = db.session.get(Participant, rows["Bo"].id)
    assert bo.status == ParticipantStatus.CANCELLED and bo.cancelled_at is not None
    assert db.session.get(Participant, rows["Emi"].id).status == ParticipantStatus.REGISTERED
    emi = db.session.get(Participant, rows["Emi"].id).user_id
    told = db.session.scalars(sa.select(OutboundEmail.kind).where(OutboundEmail.user_id == emi))
    assert list(told) == ["participant_promoted"]
    again = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "This registration is already cancelled." in again
    assert db.session.get(Participant, rows["Dai"].id).status == ParticipantStatus.WAITLISTED


def test_an_organizer_lets_someone_in_from_the_waitlist_over_the_capacity(client, auth, seated):
    organizer, group, session, rows = seated
    auth.login_as(organizer)
    url = f"{list_url(group, session)}/{rows['Dai'].id}/let-in"
    page = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Dai is registered from the waitlist. Dai is told by email." in page
    assert "Registered: 4 of 3" in page  # over the capacity, which stays
    db.session.expire_all()
    assert db.session.get(Participant, rows["Dai"].id).status == ParticipantStatus.REGISTERED
    assert db.session.get(Participant, rows["Emi"].id).status == ParticipantStatus.WAITLISTED
    dai = db.session.get(Participant, rows["Dai"].id).user_id
    told = db.session.scalars(sa.select(OutboundEmail.kind).where(OutboundEmail.user_id == dai))
    # Let in ahead of the line: the registration's email, not "someone cancelled".
    assert list(told) == ["participant_registered"]
    again = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "Only someone on the waitlist can be let in." in again
    # Cancelling one of the four frees no seat under the capacity of 3: Emi keeps waiting.
    client.post(f"{list_url(group, session)}/{rows['Ai'].id}/cancel")
    db.session.expire_all()
    assert db.session.get(Participant, rows["Emi"].id).status == ParticipantStatus.WAITLISTED


def test_once_the_session_started_the_list_cancels_nobody(client, auth, seated):
    organizer, group, session, rows = seated
    session.starts_at = NOW - timedelta(minutes=5)
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(list_url(group, session)).get_data(as_text=True)
    assert "Cancel registration" not in page and "Let in" not in page
    url = f"{list_url(group, session)}/{rows['Ai'].id}/cancel"
    refused = client.post(url, follow_redirects=True).get_data(as_text=True)
    assert "This session has already started or is over." in refused
    late = client.post(f"{list_url(group, session)}/{rows['Dai'].id}/let-in")
    assert late.status_code == 302
    db.session.expire_all()
    assert db.session.get(Participant, rows["Ai"].id).status == ParticipantStatus.REGISTERED
    assert db.session.get(Participant, rows["Dai"].id).status == ParticipantStatus.WAITLISTED


# --- CSV ------------------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    raw = response.get_data()
    assert response.mimetype == "text/csv"
    assert raw.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


CSV_HEADERS = {
    "ja": [
        "名前",
        "ふりがな",
        "受付コード",
        "状態",
        "キャンセル待ちの順番",
        "申込日時",
        "当日参加",
        "受付（チェックイン）",
        "キャンセル日時",
        "会社名",
        "懇親会に参加しますか？",
        "旧質問（質問終了）",
    ],
    "en": [
        "Name",
        "Reading",
        "Code",
        "Status",
        "Number on the waitlist",
        "Registered on",
        "Walk-in",
        "Checked in",
        "Cancelled on",
        "会社名",
        "懇親会に参加しますか？",
        "旧質問 (no longer asked)",
    ],
}


@pytest.mark.parametrize(
    ("locale", "when", "words"),
    [
        ("ja", "2030/01/05 10:07", ("参加登録済み", "キャンセル待ち", "はい", "いいえ")),
        ("en", "2030-01-05 10:07", ("Registered", "Waitlist", "Yes", "No")),
    ],
)
def test_the_csv_speaks_the_readers_language_and_never_runs_formulas(
    client, auth, seated, locale, when, words
):
    organizer, group, session, rows = seated
    company = question(session, "会社名", position=0)
    party = question(session, "懇親会に参加しますか？", QuestionKind.YES_NO, position=1)
    old = question(session, "旧質問", position=2)
    old.retired_at = NOW
    answer(rows["Ai"], company, '=HYPERLINK("http://evil.example","click")')
    answer(rows["Ai"], party, "yes")
    answer(rows["Bo"], party, "no")
    answer(rows["Bo"], old, "kept")
    rows["Bo"].checked_in_at = datetime(2030, 1, 5, 1, 7, tzinfo=UTC)
    organizer.locale = locale
    db.session.commit()
    auth.login_as(organizer)
    table = _rows(client.get(f"{list_url(group, session)}.csv"))
    assert table[0] == CSV_HEADERS[locale]
    by_name = {row[0]: row for row in table[1:]}
    assert by_name["Ai"][9] == '\'=HYPERLINK("http://evil.example","click")'
    assert by_name["Ai"][3] == words[0] and by_name["Ai"][10] == words[2]
    assert by_name["Bo"][7] == when and by_name["Bo"][10] == words[3]
    assert by_name["Bo"][11] == "kept"
    assert [by_name[n][4] for n in ("Emi", "Dai")] == ["1", "2"]
    assert by_name["Emi"][3] == words[1]


# --- access ---------------------------------------------------------------------------------


def test_members_get_403_and_other_groups_sessions_404(client, auth, seated, make):
    organizer, group, session, rows = seated
    member = make.member(group)
    asked_one = question(session, "Q")
    db.session.commit()
    base = list_url(group, session)
    gets = [base, f"{base}.csv", f"{base}/questions"]
    posts = [
        f"{base}/{rows['Ai'].id}/cancel",
        f"{base}/{rows['Dai'].id}/let-in",
        f"{base}/questions",
        f"{base}/questions/{asked_one.id}",
        f"{base}/questions/{asked_one.id}/move",
        f"{base}/questions/{asked_one.id}/remove",
    ]
    auth.login_as(member)
    for url in gets:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, data={"direction": "up", "text": "x"}).status_code == 403, url
    db.session.refresh(rows["Ai"])
    assert rows["Ai"].status == ParticipantStatus.REGISTERED

    # An organizer of another group: their own group's address with this session is a 404.
    other_organizer = make.user()
    other = make.group(other_organizer)
    auth.login_as(other_organizer)
    theirs = f"/g/{other.slug}/sessions/{session.id}/participants"
    for url in [theirs, f"{theirs}.csv", f"{theirs}/questions"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"{theirs}/{rows['Ai'].id}/cancel").status_code == 404
    assert client.post(f"{theirs}/{rows['Dai'].id}/let-in").status_code == 404
    assert client.post(f"{theirs}/questions/{asked_one.id}/remove").status_code == 404
    # A participant or question of another session of one's own group: 404 too.
    own = make.session(other)
    own_url = f"/g/{other.slug}/sessions/{own.id}/participants"
    assert client.post(f"{own_url}/{rows['Ai'].id}/cancel").status_code == 404
    assert client.post(f"{own_url}/questions/{asked_one.id}/remove").status_code == 404
    db.session.expire_all()
    assert db.session.get(Participant, rows["Ai"].id).status == ParticipantStatus.REGISTERED
    assert db.session.get(ParticipantQuestion, asked_one.id) is not None


def test_answers_given_at_registration_reach_the_list_and_the_csv(client, auth, make):
    """Through the registration service: the organizer's questions, the members' answers,
    the waitlist, and a larger capacity that moves the first waiting up (emailed)."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    session = make.session(group)
    session.participant_capacity = 2
    company = add_question(
        db.session, session, text="Your company", kind=QuestionKind.TEXT, required=False, now=NOW
    )
    party = add_question(
        db.session, session, text="After-party?", kind=QuestionKind.YES_NO, required=True, now=NOW
    )
    db.session.commit()
    people = [make.member(group, make.user(display_name=n)) for n in ("Ai", "Bo", "Chie")]
    given = zip(people, ("Acme", "", "+81 3"), ("yes", "no", "yes"), strict=True)
    for person, works_at, joins in given:
        register(
            db.session,
            member=person,
            session=session,
            answers={company.id: works_at, party.id: joins},
            now=NOW,
        )
    db.session.commit()
    auth.login_as(organizer)
    page = client.get(list_url(group, session)).get_data(as_text=True)
    assert "Registered: 2 of 2" in page and "Waitlist: 1" in page and "Acme" in page
    table = _rows(client.get(f"{list_url(group, session)}.csv"))
    assert table[0][-2:] == ["Your company", "After-party?"]
    assert {row[0]: (row[3], row[-2], row[-1]) for row in table[1:]} == {
        "Ai": ("Registered", "Acme", "Yes"),
        "Bo": ("Registered", "", "No"),
        "Chie": ("Waitlist", "'+81 3", "Yes"),
    }
    promoted = change_participant_settings(
        db.session, session, takes=True, capacity=3, cancel_hours_before=0, now=NOW
    )
    db.session.commit()
    assert [p.user_id for p in promoted] == [people[2].id]
    assert db.session.scalar(
        sa.select(OutboundEmail.kind).where(
            OutboundEmail.user_id == people[2].id, OutboundEmail.kind == "participant_promoted"
        )
    )
