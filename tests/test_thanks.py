"""Thank-you notes: who may thank whom, the limits, the pages, reports, removal and email."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import MemberRole
from studygroup.mail.models import OutboundEmail
from studygroup.rules import RuleViolation
from studygroup.sessions.services import cancel_session, mark_not_held
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import set_attendance
from studygroup.signups.services import sign_up
from studygroup.thanks import services
from studygroup.thanks.models import ThanksNote
from studygroup.thanks.services import send_thanks, thankable
from tests.factories import slots_of
from tests.test_coworking import put

NOW = datetime.now(UTC)


@pytest.fixture
def crew(make):
    """A group (Asia/Tokyo) and a session three days ago: Ai and Bo on setup, Cy on reception,
    Di a no-show on setup; Ed on the waitlist; Fu a member who did not work it."""
    organizer = make.user("org@example.com", display_name="Org")
    group = make.group(organizer, name="Tokyo Python")
    p = {
        n: make.member(group, make.user(f"{n.lower()}@example.com", display_name=n))
        for n in ("Ai", "Bo", "Cy", "Di", "Ed", "Fu")
    }
    session = make.session(group, day=date.today() - timedelta(days=3), title="Meetup #11")
    r = slots_of(session)
    put(organizer, p["Ai"], r["setup"])
    put(organizer, p["Bo"], r["setup"])
    put(organizer, p["Cy"], r["reception"])
    di = put(organizer, p["Di"], r["setup"])
    set_attendance(
        db.session, organizer=organizer, place=di, attendance=Attendance.NO_SHOW, now=NOW
    )
    r["reception"].headcount = 1
    sign_up(db.session, member=p["Ed"], slot=r["reception"], now=NOW - timedelta(days=10))
    db.session.commit()
    return organizer, group, session, p


def names(people):
    return [t.name for t in people]


def send(sender, recipient, session, body="Thanks for carrying the projector!"):
    note = send_thanks(
        db.session, sender=sender, recipient=recipient, session=session, body=body, now=NOW
    )
    db.session.commit()
    return note


# --- who may thank whom ---------------------------------------------------------------------


def test_only_people_who_worked_the_session_thank_each_other(crew):
    _org, _group, session, p = crew
    assert names(thankable(db.session, p["Ai"], session, now=NOW)) == ["Bo", "Cy"]
    assert names(thankable(db.session, p["Cy"], session, now=NOW)) == ["Ai", "Bo"]
    # A no-show, someone on the waitlist and a member who was not there thank no one.
    for who in ("Di", "Ed", "Fu"):
        assert thankable(db.session, p[who], session, now=NOW) == []
    # ... and no one thanks them, nor themselves.
    for sender, recipient in [("Ai", "Di"), ("Ai", "Ed"), ("Ai", "Fu"), ("Ai", "Ai")]:
        with pytest.raises(RuleViolation):
            send(p[sender], p[recipient], session)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThanksNote)) == 0


def test_not_before_the_session_starts_nor_for_a_cancelled_or_not_held_one(crew, make):
    organizer, group, session, p = crew
    assert (
        thankable(db.session, p["Ai"], session, now=session.starts_at - timedelta(minutes=1)) == []
    )
    assert names(thankable(db.session, p["Ai"], session, now=session.starts_at)) == ["Bo", "Cy"]
    coming = make.session(group, day=date.today() + timedelta(days=3))
    put(organizer, p["Ai"], slots_of(coming)["setup"])
    put(organizer, p["Bo"], slots_of(coming)["setup"])
    db.session.commit()
    assert thankable(db.session, p["Ai"], coming, now=NOW) == []
    mark_not_held(session, now=NOW)
    db.session.commit()
    assert thankable(db.session, p["Ai"], session, now=NOW) == []
    with pytest.raises(RuleViolation):
        send(p["Ai"], p["Bo"], session)
    other = make.session(group, day=date.today() - timedelta(days=1))
    put(organizer, p["Ai"], slots_of(other)["setup"])
    put(organizer, p["Bo"], slots_of(other)["setup"])
    cancel_session(other, now=other.starts_at - timedelta(days=1))
    db.session.commit()
    assert thankable(db.session, p["Ai"], other, now=NOW) == []


def test_someone_who_turned_notes_off_cannot_be_thanked(crew):
    _org, _group, session, p = crew
    p["Bo"].accept_thanks = False
    db.session.commit()
    [bo, cy] = thankable(db.session, p["Ai"], session, now=NOW)
    assert (bo.name, bo.accepts, cy.accepts) == ("Bo", False, True)
    with pytest.raises(RuleViolation, match="does not receive thank-you notes"):
        send(p["Ai"], p["Bo"], session)


def test_a_coworker_hidden_by_name_is_offered_only_to_an_organizer_of_the_group(crew, make):
    organizer, group, session, p = crew
    p["Bo"].appear_by_name = False
    db.session.commit()
    assert names(thankable(db.session, p["Ai"], session, now=NOW)) == ["Cy"]
    with pytest.raises(RuleViolation):
        send(p["Ai"], p["Bo"], session)
    # An organizer who worked the session sees their group's members by name.
    put(organizer, organizer, slots_of(session)["speaker"])
    db.session.commit()
    assert names(thankable(db.session, organizer, session, now=NOW)) == ["Ai", "Bo", "Cy"]
    # Bo, hidden, may still thank others: the recipient sees Bo's name (the form says so).
    send(p["Bo"], p["Ai"], session)


# --- the limits -----------------------------------------------------------------------------


def test_one_note_per_sender_recipient_and_session(crew):
    _org, _group, session, p = crew
    send(p["Ai"], p["Bo"], session)
    with pytest.raises(RuleViolation, match="already"):
        send(p["Ai"], p["Bo"], session, body="Again")
    db.session.rollback()
    send(p["Bo"], p["Ai"], session)  # the other way round is another note
    send(p["Ai"], p["Cy"], session)
    [bo, cy] = thankable(db.session, p["Ai"], session, now=NOW)
    assert bo.sent and cy.sent
    # The database refuses a second one too (two tabs at once).
    db.session.add(
        ThanksNote(session_id=session.id, sender_id=p["Ai"].id, recipient_id=p["Bo"].id, body="x")
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()


def test_a_daily_limit_per_sender(crew, make, monkeypatch):
    organizer, group, session, p = crew
    monkeypatch.setattr(services, "DAILY_LIMIT", 2)
    other = make.session(group, day=date.today() - timedelta(days=2))
    for who in ("Ai", "Bo", "Cy"):
        put(organizer, p[who], slots_of(other)["setup"])
    db.session.commit()
    send(p["Ai"], p["Bo"], session)
    send(p["Ai"], p["Cy"], session)
    with pytest.raises(RuleViolation, match="at most 2") as refused:
        send(p["Ai"], p["Bo"], other)
    assert refused.value.field == "body"
    db.session.rollback()
    # A day later the sender may write again.
    send_thanks(
        db.session,
        sender=p["Ai"],
        recipient=p["Bo"],
        session=other,
        body="Thanks",
        now=NOW + timedelta(days=1),
    )


def test_the_note_is_plain_text_of_at_most_500_characters(crew):
    _org, _group, session, p = crew
    for body in ("", "   \n "):
        with pytest.raises(RuleViolation, match="fill this in"):
            send(p["Ai"], p["Bo"], session, body=body)
    with pytest.raises(RuleViolation, match="at most 500"):
        send(p["Ai"], p["Bo"], session, body="あ" * 501)
    note = send(p["Ai"], p["Bo"], session, body="  " + "あ" * 500 + "\n")
    assert note.body == "あ" * 500


# --- the pages ------------------------------------------------------------------------------


def test_sending_from_the_session_page_and_reading_it_as_the_recipient(crew, client, auth):
    _org, group, session, p = crew
    auth.login_as(p["Ai"])
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Say thanks" in page
    form_url = f"/thanks/{session.id}/{p['Bo'].id}"
    assert f'href="{form_url}"' in page
    assert f"/thanks/{session.id}/{p['Di'].id}" not in page  # the no-show is not offered
    form = client.get(form_url).get_data(as_text=True)
    assert "Say thanks to Bo" in form and "Bo sees your name with the note" in form
    # Too long: the message is next to the field and the text is kept.
    long = "x" * 499 + "<b>!"
    response = client.post(form_url, data={"body": long})
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Use at most 500 characters." in text
    assert "x" * 499 + "&lt;b&gt;!" in text
    response = client.post(form_url, data={"body": "  "})
    assert response.status_code == 422
    assert "Please fill this in." in response.get_data(as_text=True)
    response = client.post(form_url, data={"body": "Thanks for the <projector>!\nSee you."})
    assert response.status_code == 302 and response.headers["Location"] == "/thanks/sent"
    sent = client.get("/thanks/sent").get_data(as_text=True)
    assert "To Bo" in sent and "Thanks for the &lt;projector&gt;!\nSee you." in sent
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "Thanked" in page and f'href="{form_url}"' not in page
    # A second visit to the form says it is done.
    again = client.get(form_url)
    assert again.status_code == 302 and again.headers["Location"] == "/thanks/sent"

    auth.login_as(p["Bo"])
    received = client.get("/thanks").get_data(as_text=True)
    assert "From Ai" in received and "Thanks for the &lt;projector&gt;!" in received
    assert "Meetup #11" in received and "Tokyo Python" in received
    assert "You have not sent any" in client.get("/thanks/sent").get_data(as_text=True)
    auth.login_as(p["Cy"])
    assert "Thanks for the" not in client.get("/thanks").get_data(as_text=True)


def test_the_form_is_a_404_for_anyone_not_thankable(crew, client, auth, make):
    _org, group, session, p = crew
    auth.login_as(p["Ai"])
    for user_id in (p["Di"].id, p["Ed"].id, p["Fu"].id, p["Ai"].id, 2**31 - 1):
        assert client.get(f"/thanks/{session.id}/{user_id}").status_code == 404
        assert client.post(f"/thanks/{session.id}/{user_id}", data={"body": "x"}).status_code == 404
    assert client.get(f"/thanks/{2**31 - 1}/{p['Bo'].id}").status_code == 404
    auth.login_as(p["Fu"])  # not there: not even the people who were
    assert client.get(f"/thanks/{session.id}/{p['Bo'].id}").status_code == 404
    # One who turned notes off: said on the session page, and the form sends you back there.
    p["Bo"].accept_thanks = False
    db.session.commit()
    auth.login_as(p["Ai"])
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").get_data(as_text=True)
    assert "does not receive thank-you notes" in page
    response = client.post(f"/thanks/{session.id}/{p['Bo'].id}", data={"body": "Thanks"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThanksNote)) == 0
    assert client.get("/thanks").status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, crew):
    _org, _group, session, p = crew
    for url in ("/thanks", "/thanks/sent", f"/thanks/{session.id}/{p['Bo'].id}"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_choices_are_on_the_privacy_settings_and_the_profile(crew, client, auth):
    _org, _group, _session, p = crew
    auth.login_as(p["Bo"])
    page = client.get(f"/people/{p['Bo'].id}/coworkers").get_data(as_text=True)
    assert "Co-workers can send me thank-you notes" in page
    client.post(
        "/coworkers/privacy", data={"coworkers_visibility": "shared_groups", "appear_by_name": "y"}
    )
    db.session.refresh(p["Bo"])
    assert p["Bo"].accept_thanks is False and p["Bo"].appear_by_name is True
    client.post(
        "/coworkers/privacy",
        data={"coworkers_visibility": "shared_groups", "appear_by_name": "y", "accept_thanks": "y"},
    )
    db.session.refresh(p["Bo"])
    assert p["Bo"].accept_thanks is True
    assert "Thank-you notes from people I worked with" in client.get("/profile").get_data(
        as_text=True
    )


def test_the_together_page_links_each_session_to_a_note(crew, client, auth):
    _org, _group, session, p = crew
    auth.login_as(p["Ai"])
    page = client.get(f"/people/{p['Ai'].id}/coworkers/{p['Cy'].id}").get_data(as_text=True)
    assert f'href="/thanks/{session.id}/{p["Cy"].id}"' in page
    auth.login_as(p["Bo"])  # on someone else's page: no link to write as them
    page = client.get(f"/people/{p['Ai'].id}/coworkers/{p['Cy'].id}").get_data(as_text=True)
    assert "/thanks/" not in page


# --- reports and removal --------------------------------------------------------------------


def test_the_recipient_reports_and_an_organizer_removes_a_note(
    crew, client, auth, make, smtp_server
):
    organizer, group, session, p = crew
    note = send(p["Ai"], p["Bo"], session, body="Something abusive")
    session_url = f"/g/{group.slug}/sessions/{session.id}"
    auth.login_as(organizer)
    assert "Something abusive" not in client.get(session_url).get_data(as_text=True)
    # An organizer acts on reported notes only.
    assert client.post(f"/thanks/notes/{note.id}/remove").status_code == 404
    # Only the recipient reports: the sender gets a 403, anyone else a 404.
    for who, status in (("Ai", 403), ("Cy", 404)):
        auth.login_as(p[who])
        assert client.post(f"/thanks/notes/{note.id}/report").status_code == status
    auth.login_as(p["Bo"])
    assert client.post(f"/thanks/notes/{note.id}/report").status_code == 302
    assert "Reported to the organizers" in client.get("/thanks").get_data(as_text=True)
    db.session.refresh(note)
    assert note.reported_at is not None
    # The organizers are told where to look (the organizer follows no language of their own:
    # the mail default, Japanese), without the note's words.
    [told] = smtp_server.to("org@example.com")
    assert told["Subject"] == "要対応: お礼のメッセージが報告されました（Meetup #11）"
    body = told.get_body(preferencelist=("plain",)).get_content()
    assert "Boさんが、この開催回のあとに受け取ったお礼のメッセージを報告しました。" in body
    assert f"{session_url}#reported-notes" in body
    assert "Something abusive" not in body
    assert client.post(f"/thanks/notes/{note.id}/report").status_code == 302  # once is enough
    assert len(smtp_server.to("org@example.com")) == 1
    assert smtp_server.to("bo@example.com") == []

    # Neither the note's own people nor an organizer of another group may remove it.
    other_organizer = make.user(display_name="Elsewhere")
    make.group(other_organizer)
    for who, status in ((p["Ai"], 403), (p["Bo"], 403), (p["Cy"], 404), (other_organizer, 404)):
        auth.login_as(who)
        assert client.post(f"/thanks/notes/{note.id}/remove").status_code == status
    auth.login_as(organizer)
    page = client.get(session_url).get_data(as_text=True)
    assert "Reported thank-you notes" in page and "From Ai to Bo" in page
    assert "Something abusive" in page
    response = client.post(f"/thanks/notes/{note.id}/remove")
    assert response.status_code == 302
    assert response.headers["Location"] == f"{session_url}#reported-notes"
    db.session.refresh(note)
    assert note.removed_at is not None and note.removed_by_id == organizer.id
    assert "Removed by Org" in client.get(session_url).get_data(as_text=True)

    auth.login_as(p["Bo"])
    assert "Something abusive" not in client.get("/thanks").get_data(as_text=True)
    assert client.post(f"/thanks/notes/{note.id}/report").status_code == 404
    auth.login_as(p["Ai"])  # the sender sees it was removed
    sent = client.get("/thanks/sent").get_data(as_text=True)
    assert "Something abusive" in sent and "Removed by an organizer" in sent
    # Soft: the row stays.
    assert db.session.get(ThanksNote, note.id) is not None


def test_a_co_organizer_may_remove_too(crew, client, auth, make):
    organizer, group, session, p = crew
    co = make.member(group, make.user(display_name="Co"), role=MemberRole.ORGANIZER)
    note = send(p["Ai"], p["Bo"], session)
    services.report_note(db.session, note, by=p["Bo"], now=NOW)
    db.session.commit()
    auth.login_as(co)
    assert client.post(f"/thanks/notes/{note.id}/remove").status_code == 302


def test_a_reported_note_waits_on_organize_until_it_is_removed(crew, client, auth):
    """A reported note is something that needs an organizer: "Needs you" on /organize lists
    it, one click from the session's reported notes, until an organizer removes it."""
    organizer, group, session, p = crew
    note = send(p["Ai"], p["Bo"], session, body="Something abusive")
    auth.login_as(organizer)

    def needs():
        page = client.get("/organize").get_data(as_text=True)
        return page[page.index('id="needs"') : page.index("</section>")]

    assert "reported a thank-you note" not in needs()  # not before a report
    services.report_note(db.session, note, by=p["Bo"], now=NOW)
    db.session.commit()
    waiting = needs()
    assert "Bo reported a thank-you note" in waiting
    assert f'href="/g/{group.slug}/sessions/{session.id}#reported-notes"' in waiting
    assert "Something abusive" not in waiting  # where to look, not the words
    assert client.post(f"/thanks/notes/{note.id}/remove").status_code == 302
    assert "reported a thank-you note" not in needs()


# --- the list and its queries ---------------------------------------------------------------


def _many_notes(make, group, organizer, member, count, *, sent=False, first=0):
    """`count` notes to `member` (`sent`: from them), each with someone else and session."""
    for n in range(first, first + count):
        other = make.member(group, make.user(display_name=f"Other {n}"))
        sender, recipient = (member, other) if sent else (other, member)
        session = make.session(
            group, day=date.today() - timedelta(days=5 + n), start=time(10), title=f"Session {n}"
        )
        put(organizer, member, slots_of(session)["setup"])
        put(organizer, other, slots_of(session)["setup"])
        db.session.commit()
        # A day apart, Note 0 the newest: the daily limit lets them all through.
        send_thanks(
            db.session,
            sender=sender,
            recipient=recipient,
            session=session,
            body=f"Note {n}",
            now=NOW - timedelta(days=n),
        )
        db.session.commit()


@pytest.mark.parametrize("tab", ["/thanks", "/thanks/sent"])
def test_the_notes_page_asks_a_fixed_number_of_queries(
    crew, client, auth, make, count_queries, tab
):
    organizer, group, session, p = crew
    sent = tab == "/thanks/sent"
    _many_notes(make, group, organizer, p["Bo"], 3, sent=sent)
    auth.login_as(p["Bo"])
    client.get(tab)
    with count_queries() as few:
        assert client.get(tab).get_data(as_text=True).count('class="note"') == 3
    _many_notes(make, group, organizer, p["Bo"], 22, sent=sent, first=3)
    with count_queries() as many:
        assert client.get(tab).get_data(as_text=True).count('class="note"') == 20
    assert many.count == few.count
    assert many.count <= 6


def test_the_received_notes_page_by_page(crew, client, auth, make):
    organizer, group, _session, p = crew
    _many_notes(make, group, organizer, p["Bo"], 23)
    auth.login_as(p["Bo"])
    first = client.get("/thanks").get_data(as_text=True)
    assert first.count('class="note"') == 20
    assert "Note 0<" in first and "Note 22<" not in first  # newest first
    second = client.get("/thanks?page=2").get_data(as_text=True)
    assert second.count('class="note"') == 3 and "Note 22<" in second


# --- email ----------------------------------------------------------------------------------


def test_the_recipient_gets_an_email_in_their_language_over_smtp(crew, client, auth, smtp_server):
    _org, _group, session, p = crew
    p["Bo"].locale = "ja"
    db.session.commit()
    auth.login_as(p["Ai"])
    client.post(
        f"/thanks/{session.id}/{p['Bo'].id}", data={"body": "プロジェクターをありがとう <3"}
    )
    [message] = smtp_server.to("bo@example.com")
    assert message["Subject"] == "お礼のメッセージ: Aiさんから（Meetup #11）"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "プロジェクターをありがとう <3" in body
    assert "/thanks" in body


def test_no_email_when_the_recipient_turned_it_off(crew, client, auth, smtp_server):
    _org, _group, session, p = crew
    p["Bo"].email_thanks = False
    db.session.commit()
    auth.login_as(p["Ai"])
    client.post(f"/thanks/{session.id}/{p['Bo'].id}", data={"body": "Thanks!"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ThanksNote)) == 1
    assert smtp_server.to("bo@example.com") == []
    assert "thanks_received" not in db.session.scalars(sa.select(OutboundEmail.kind)).all()


def test_the_demo_has_notes_to_read(runner, client, auth):
    from studygroup.auth.models import User

    assert runner.invoke(args=["demo"]).exit_code == 0
    suzuki = db.session.scalar(sa.select(User).where(User.email == "suzuki@example.com"))
    auth.login_as(suzuki)
    page = client.get("/thanks").get_data(as_text=True)
    assert page.count('class="note"') == 2 and "いつも会場の設営をありがとうございます" in page
    assert client.get("/thanks/sent").get_data(as_text=True).count('class="note"') == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0


def test_the_session_page_lists_whom_to_thank_in_a_fixed_number_of_queries(
    crew, client, auth, make, count_queries
):
    organizer, group, session, p = crew
    url = f"/g/{group.slug}/sessions/{session.id}"
    auth.login_as(p["Ai"])
    client.get(url)
    with count_queries() as few:
        assert client.get(url).get_data(as_text=True).count("Say thanks to ") == 2
    setup = slots_of(session)["setup"]
    setup.headcount = 20
    db.session.commit()
    for n in range(10):
        put(organizer, make.member(group, make.user(display_name=f"Helper {n}")), setup)
    send(p["Ai"], p["Bo"], session)
    db.session.commit()
    with count_queries() as many:
        page = client.get(url).get_data(as_text=True)
    assert page.count("Say thanks to ") == 11 and "Thanked" in page
    assert many.count == few.count
