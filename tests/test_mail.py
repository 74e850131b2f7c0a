"""Real SMTP: messages go through an in-process aiosmtpd server and are read back."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.mail.delivery import deliver
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.signups.models import Assignment
from studygroup.signups.organizing import assign
from studygroup.signups.reminders import claim_reminders
from tests.factories import slots_of


def test_sign_up_waitlist_cancel_promotion_emails_in_both_languages(
    client, auth, make, smtp_server
):
    organizer = make.user()
    group = make.group(organizer, name="渋谷Python勉強会")
    first = make.member(group, make.user("first@example.com", display_name="First", locale="en"))
    second = make.member(group, make.user("second@example.com", display_name="二番", locale="ja"))
    session = make.session(group, day=date.today() + timedelta(days=10), title="第12回")
    reception = slots_of(session)["reception"]
    reception.headcount = 1
    db.session.commit()

    auth.login_as(first)
    client.post(f"/g/{group.slug}/slots/{reception.id}/signup")
    auth.login_as(second)
    client.post(f"/g/{group.slug}/slots/{reception.id}/signup")

    [confirmation] = smtp_server.to("first@example.com")
    assert confirmation["Subject"] == "You are signed up: Reception, 第12回"
    body = confirmation.get_content()
    assert "Hello First," in body and "Your place is confirmed." in body
    assert "Reception" in body and "09:30–10:30" in body
    assert f"/g/{group.slug}/sessions/{session.id}" in body
    [waitlisted] = smtp_server.to("second@example.com")
    assert (
        waitlisted["Subject"] == "キャンセル待ち: 第12回 の受付" or "受付" in waitlisted["Subject"]
    )
    assert "キャンセル待ち" in waitlisted.get_content()

    auth.login_as(first)
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == first.id))
    client.post(f"/g/{group.slug}/places/{place.id}/cancel")
    assert len(smtp_server.to("first@example.com")) == 2  # the cancellation
    promoted = smtp_server.to("second@example.com")[-1]
    assert "受付" in promoted["Subject"] and "第12回" in promoted["Subject"]
    assert "二番" in promoted.get_content()
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboundEmail)
            .where(OutboundEmail.status == EmailStatus.SENT)
        )
        == 4
    )


def test_a_failed_send_keeps_the_sign_up_and_is_retried(app, client, auth, make, smtp_server):
    group = make.group()
    member = make.member(group, make.user("m@example.com", locale="en"))
    session = make.session(group, day=date.today() + timedelta(days=10))
    app.config["MAIL_PORT"] = 1  # nothing listens there
    auth.login_as(member)
    response = client.post(f"/g/{group.slug}/slots/{slots_of(session)['setup'].id}/signup")
    assert response.status_code == 302
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == member.id))
    assert place.status == "confirmed"  # the sign-up stands
    message = db.session.scalar(sa.select(OutboundEmail))
    assert message.status == EmailStatus.PENDING and message.attempts == 1
    assert "ConnectionRefused" in message.last_error
    # The next cron run retries it, now that the server is reachable.
    app.config["MAIL_PORT"] = smtp_server.port
    result = app.test_cli_runner().invoke(args=["send-reminders"])
    assert "sent 1, left 0, failed 0" in result.output
    assert len(smtp_server.to("m@example.com")) == 1


def test_members_choose_which_emails_they_get(client, auth, make, smtp_server):
    group = make.group()
    member = make.member(group, make.user("quiet@example.com"))
    member.email_signups = False
    db.session.commit()
    session = make.session(group, day=date.today() + timedelta(days=10))
    auth.login_as(member)
    client.post(f"/g/{group.slug}/slots/{slots_of(session)['setup'].id}/signup")
    assert smtp_server.to("quiet@example.com") == []


def test_session_change_and_cancellation_tell_the_people_on_it(client, auth, make, smtp_server):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user("on-it@example.com", locale="en"))
    session = make.session(group, day=date.today() + timedelta(days=10), title="Meetup")
    auth.login_as(member)
    client.post(f"/g/{group.slug}/slots/{slots_of(session)['setup'].id}/signup")
    auth.login_as(organizer)
    day = (date.today() + timedelta(days=11)).isoformat()
    client.post(
        f"/g/{group.slug}/sessions/{session.id}/edit",
        data={
            "title": "Meetup",
            "day": day,
            "start_time": "10:00",
            "end_time": "12:00",
            "venue": "Community hall",
            "description": "",
        },
    )
    changed = smtp_server.to("on-it@example.com")[-1]
    assert changed["Subject"] == "Changed: Meetup"
    assert "What changed: time" in changed.get_content()
    client.post(f"/g/{group.slug}/sessions/{session.id}/cancel")
    cancelled = smtp_server.to("on-it@example.com")[-1]
    assert cancelled["Subject"] == "Cancelled: Meetup"
    assert "(Cancelled)" in cancelled.get_content()


def test_reminders_are_sent_once_even_when_runs_overlap(app, make, smtp_server):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user("remind@example.com", locale="en"))
    session = make.session(group, day=date.today() + timedelta(days=3))
    place = assign(
        db.session,
        organizer=organizer,
        member=member,
        slot=slots_of(session)["reception"],
        now=datetime.now(UTC),
    ).place
    db.session.commit()
    deliver(db.session, now=datetime.now(UTC))  # the "you were assigned" email
    smtp_server.messages.clear()

    now = session.starts_at - timedelta(hours=12)  # inside the 24-hour lead
    # Two runs claim at the same moment: only one reminder row can exist.
    assert claim_reminders(db.session, now=now) == 1
    assert claim_reminders(db.session, now=now) == 0
    report = deliver(db.session, now=now)
    assert (report.sent, report.failed) == (1, 0)
    assert deliver(db.session, now=now).sent == 0
    [reminder] = smtp_server.to("remind@example.com")
    assert reminder["Subject"] == f"Reminder: Reception, {session.title}"
    key = db.session.scalar(
        sa.select(OutboundEmail.dedupe_key).where(OutboundEmail.kind == "reminder")
    )
    assert key == f"reminder:{place.id}:24"
    # A later run, at 6 hours before, sends nothing more.
    assert claim_reminders(db.session, now=session.starts_at - timedelta(hours=6)) == 0


def test_no_reminder_for_a_lead_that_passed_before_the_sign_up(make):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=3))
    # Signed up 2 hours before the start: the confirmation said it all.
    assign(
        db.session,
        organizer=organizer,
        member=member,
        slot=slots_of(session)["reception"],
        now=session.starts_at - timedelta(hours=2),
    )
    db.session.commit()
    assert claim_reminders(db.session, now=session.starts_at - timedelta(hours=1)) == 0


def test_two_overlapping_cron_runs_send_each_reminder_once(app_factory, make, smtp_server):
    import threading

    organizer = make.user()
    group = make.group(organizer)
    members = [make.member(group) for _ in range(5)]
    session = make.session(group, day=date.today() + timedelta(days=3))
    slot = slots_of(session)["setup"]
    slot.headcount = 5
    for member in members:
        assign(db.session, organizer=organizer, member=member, slot=slot, now=datetime.now(UTC))
    db.session.commit()
    deliver(db.session, now=datetime.now(UTC))
    smtp_server.messages.clear()

    runner_app = app_factory(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False
    )
    now = session.starts_at - timedelta(hours=12)
    barrier = threading.Barrier(2, timeout=30)

    def cron_run():
        with runner_app.app_context():
            barrier.wait()
            claim_reminders(db.session, now=now)
            deliver(db.session, now=now)
            db.session.remove()

    runs = [threading.Thread(target=cron_run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    received = sorted(m.envelope_to[0] for m in smtp_server.messages)
    assert received == sorted(m.email for m in members)


def test_a_message_that_cannot_be_sent_does_not_block_the_others(app, make, smtp_server):
    group = make.group()
    first = make.member(group, make.user("first@example.com"))
    second = make.member(group, make.user("second@example.com"))
    broken = OutboundEmail(
        user_id=first.id,
        to_address="first@example.com",
        subject="Bad\nSubject",
        body="x",
        kind="reminder",
    )
    fine = OutboundEmail(
        user_id=second.id,
        to_address="second@example.com",
        subject="Fine",
        body="y",
        kind="reminder",
    )
    db.session.add_all([broken, fine])
    db.session.commit()
    report = deliver(db.session, now=datetime.now(UTC))
    assert (report.sent, report.failed) == (1, 1)
    assert [m.envelope_to for m in smtp_server.messages] == [["second@example.com"]]
    db.session.refresh(broken)
    assert broken.status == EmailStatus.PENDING and "ValueError" in broken.last_error


def test_titles_lose_line_breaks_before_they_reach_a_subject(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    client.post(
        f"/g/{group.slug}/sessions/new",
        data={
            "title": "Line\r\nBreak",
            "day": (date.today() + timedelta(days=9)).isoformat(),
            "start_time": "10:00",
            "end_time": "12:00",
        },
    )
    from studygroup.sessions.models import StudySession

    assert db.session.scalar(sa.select(StudySession.title)) == "Line Break"


def test_holding_the_session_after_all_is_emailed(client, auth, make, smtp_server):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user("back@example.com", locale="en"))
    session = make.session(group, day=date.today() + timedelta(days=10), title="Meetup")
    auth.login_as(member)
    client.post(f"/g/{group.slug}/slots/{slots_of(session)['setup'].id}/signup")
    auth.login_as(organizer)
    client.post(f"/g/{group.slug}/sessions/{session.id}/cancel")
    client.post(f"/g/{group.slug}/sessions/{session.id}/reinstate")
    latest = smtp_server.to("back@example.com")[-1]
    assert latest["Subject"] == "Changed: Meetup"
    assert "What changed: it takes place after all" in latest.get_content()


def test_every_kind_fits_the_outbox_column():
    """SQLite does not hold a string to its length; PostgreSQL refuses a longer kind (a 500)."""
    from studygroup.mail.kinds import MESSAGES

    length = OutboundEmail.__table__.c.kind.type.length
    assert [kind for kind in MESSAGES if len(kind) > length] == []
