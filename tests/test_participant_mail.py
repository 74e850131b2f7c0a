"""Participants' emails through a real SMTP server (aiosmtpd), read back and parsed: the
registration carries the code in its text and its QR code as an inline PNG."""

import io
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from PIL import Image

from studygroup.extensions import db
from studygroup.mail.delivery import deliver
from studygroup.mail.models import OutboundEmail
from studygroup.participants.codes import qr_png
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.participants.services import register
from studygroup.signups.reminders import claim_reminders


def _session(make, group, *, capacity=1, days=10, title="第12回"):
    session = make.session(group, day=date.today() + timedelta(days=days), title=title)
    session.participant_capacity = capacity
    db.session.commit()
    return session


def _participant(user):
    return db.session.scalar(
        sa.select(Participant).where(
            Participant.user_id == user.id, Participant.status != ParticipantStatus.CANCELLED
        )
    )


def _qr_part(message):
    """The inline PNG of an HTML alternative, and the cid the HTML points to."""
    html = message.get_body(("html",))
    assert html is not None, "no HTML alternative"
    [image] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html.get_content()
    assert image.get_content_disposition() == "inline"
    return image.get_content()


def test_registration_in_english_carries_the_code_and_its_qr_png(client, auth, make, smtp_server):
    group = make.group(name="Shibuya Python")
    member = make.member(group, make.user("en@example.com", display_name="Ann", locale="en"))
    session = _session(make, group, title="Meetup 12")
    auth.login_as(member)
    response = client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    assert response.status_code == 302
    code = _participant(member).code

    [message] = smtp_server.to("en@example.com")
    assert message["Subject"] == "You are registered: Meetup 12"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    assert "Hello Ann," in text and f"Your code: {code}" in text
    assert f"/g/{group.slug}/sessions/{session.id}/participation" in text
    png = _qr_part(message)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png == qr_png(code)  # the QR code of this code, as the app draws it
    width, height = Image.open(io.BytesIO(png)).size
    assert width == height and width >= 100
    assert code in message.get_body(("html",)).get_content()  # the image's alt text


def test_waitlist_and_promotion_in_japanese(client, auth, make, smtp_server):
    group = make.group(name="渋谷Python勉強会")
    first = make.member(group, make.user("first@example.com", locale="en"))
    second = make.member(group, make.user("second@example.com", display_name="二番", locale="ja"))
    session = _session(make, group, capacity=1)
    auth.login_as(first)
    client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    auth.login_as(second)
    client.post(f"/g/{group.slug}/sessions/{session.id}/register")

    [waitlisted] = smtp_server.to("second@example.com")
    assert "キャンセル待ち" in waitlisted["Subject"] and "第12回" in waitlisted["Subject"]
    assert waitlisted.get_content_type() == "text/plain"  # no seat, no code, no QR
    assert "二番" in waitlisted.get_content()

    auth.login_as(first)
    client.post(f"/g/{group.slug}/participants/{_participant(first).id}/cancel")
    promoted = smtp_server.to("second@example.com")[-1]
    assert "第12回" in promoted["Subject"] and "参加" in promoted["Subject"]
    code = _participant(second).code
    text = promoted.get_body(("plain",)).get_content()
    assert code in text and "受付" in text
    assert _qr_part(promoted) == qr_png(code)


def test_each_setting_turns_its_email_off(client, auth, make, smtp_server):
    group = make.group()
    quiet = make.user("quiet@example.com")
    quiet.email_signups = False
    waiter = make.user("waiter@example.com")
    waiter.email_waitlist = False
    db.session.commit()
    make.member(group, quiet)
    make.member(group, waiter)
    session = _session(make, group, capacity=1)
    for user in (quiet, waiter):
        auth.login_as(user)
        client.post(f"/g/{group.slug}/sessions/{session.id}/register")
    assert _participant(quiet).status == ParticipantStatus.REGISTERED
    assert _participant(waiter).status == ParticipantStatus.WAITLISTED
    assert smtp_server.messages == []
    auth.login_as(quiet)
    client.post(f"/g/{group.slug}/participants/{_participant(quiet).id}/cancel")
    assert _participant(waiter).status == ParticipantStatus.REGISTERED
    assert smtp_server.messages == []  # promotion is a waitlist email


def test_the_reminder_goes_once_with_the_qr_code(app, make, smtp_server):
    group = make.group()
    member = make.member(group, make.user("r@example.com", locale="ja"))
    session = _session(make, group, capacity=3, days=10)
    register(
        db.session,
        member=member,
        session=session,
        answers={},
        now=session.starts_at - timedelta(days=9),
    )
    db.session.commit()
    db.session.execute(sa.delete(OutboundEmail))  # the registration's own email
    db.session.commit()
    at = session.starts_at - timedelta(hours=20)
    assert claim_reminders(db.session, now=at) == 1
    assert claim_reminders(db.session, now=at) == 0
    deliver(db.session, now=datetime.now(UTC))
    [reminder] = smtp_server.to("r@example.com")
    assert "リマインダー" in reminder["Subject"] and "第12回" in reminder["Subject"]
    code = _participant(member).code
    assert code in reminder.get_body(("plain",)).get_content()
    assert _qr_part(reminder) == qr_png(code)


def test_without_a_mail_server_the_log_shows_the_text(app, make, caplog):
    group = make.group()
    member = make.member(group, make.user("log@example.com", locale="en"))
    session = _session(make, group)
    app.config["MAIL_SERVER"] = ""
    register(db.session, member=member, session=session, answers={}, now=datetime.now(UTC))
    db.session.commit()
    with caplog.at_level("INFO"):
        report = deliver(db.session, now=datetime.now(UTC))
    assert report.sent == 1


def test_the_qr_code_is_a_full_qr_code_that_phones_read():
    """Six letters fit a Micro QR code, which phones' scanners do not read: the app draws a
    full one (21 modules or more a side, finder patterns dark in three corners)."""
    image = Image.open(io.BytesIO(qr_png("WPN9PT", scale=1))).convert("L")
    quiet = 4
    modules = image.size[0] - 2 * quiet
    assert modules >= 21 and (modules - 17) % 4 == 0  # versions 1..40: 21, 25, 29...
    far = quiet + modules - 1
    for x, y in ((quiet, quiet), (far, quiet), (quiet, far)):
        assert image.getpixel((x, y)) == 0, (x, y)


def test_participants_are_told_of_a_move_a_cancellation_and_a_reinstatement(
    client, auth, make, smtp_server
):
    """Registered and waitlisted participants get the staff's change emails in their own
    language; a participant who is on a role too gets one email, not two; the setting
    email_session_changes turns them off."""
    from studygroup.sessions.models import RoleSlot
    from studygroup.signups.services import sign_up

    organizer = make.user("org@example.com")
    group = make.group(organizer, name="Shibuya Python")
    ann = make.member(group, make.user("ann@example.com", display_name="Ann", locale="en"))
    ken = make.member(group, make.user("ken@example.com", display_name="健", locale="ja"))
    both = make.member(group, make.user("both@example.com", display_name="Bo", locale="en"))
    quiet = make.member(group, make.user("quiet@example.com", locale="en"))
    gone = make.member(group, make.user("gone@example.com", locale="en"))
    quiet.email_session_changes = False
    session = _session(make, group, capacity=2, title="Meetup 12")
    now = datetime.now(UTC)
    for member in (ann, both, ken, gone, quiet):  # ken and the rest: on the waitlist
        register(db.session, member=member, session=session, answers={}, now=now)
    setup = db.session.scalar(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.id)
    )
    sign_up(db.session, member=both, slot=setup, now=now)
    gone_registration = _participant(gone)
    gone_registration.status = ParticipantStatus.CANCELLED  # cancelled: not told any more
    db.session.commit()
    assert _participant(ken).status == ParticipantStatus.WAITLISTED
    deliver(db.session, now=now)
    smtp_server.messages.clear()

    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/edit",
        data={
            "title": "Meetup 12",
            "day": (date.today() + timedelta(days=11)).isoformat(),
            "start_time": "10:00",
            "end_time": "12:00",
            "venue": "Hall B",
            "description": "",
            "takes_participants": "y",
            "participant_capacity": "2",
            "participant_cancel_hours_before": "0",
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "1 person on its roles is told by email." in page
    # ann and ken: Bo is told as staff, quiet turned these emails off.
    assert "2 participants are told by email." in page

    [moved] = smtp_server.to("ann@example.com")
    assert moved["Subject"] == "Changed: Meetup 12"
    text = moved.get_content()
    assert "The session you registered for has changed." in text
    assert "What changed: time, venue" in text and "Venue: Hall B" in text
    assert f"Your code: {_participant(ann).code}" in text
    [moved_ja] = smtp_server.to("ken@example.com")
    assert moved_ja["Subject"] == "変更のお知らせ: Meetup 12"
    text_ja = moved_ja.get_content()
    # Waitlisted: told, in Japanese, with no code (he has no seat yet).
    assert "お申し込みいただいた開催回の内容が変更されました。" in text_ja
    assert "変更点: 日時、会場" in text_ja
    assert _participant(ken).code not in text_ja
    assert len(smtp_server.to("both@example.com")) == 1
    assert "helping at" in smtp_server.to("both@example.com")[0].get_content()
    assert smtp_server.to("quiet@example.com") == []
    assert smtp_server.to("gone@example.com") == []

    smtp_server.messages.clear()
    client.post(f"/g/{group.slug}/sessions/{session.id}/cancel")
    [cancelled] = smtp_server.to("ann@example.com")
    assert cancelled["Subject"] == "Cancelled: Meetup 12"
    assert "The session you registered for is cancelled." in cancelled.get_content()
    assert "(Cancelled)" in cancelled.get_content()
    assert "to cancel it" not in cancelled.get_content()  # nothing to cancel any more
    assert len(smtp_server.to("ken@example.com")) == 1
    assert len(smtp_server.to("both@example.com")) == 1

    smtp_server.messages.clear()
    client.post(f"/g/{group.slug}/sessions/{session.id}/reinstate")
    [back] = smtp_server.to("ann@example.com")
    assert "What changed: it takes place after all" in back.get_content()
    assert len(smtp_server.to("ken@example.com")) == 1
    assert len(smtp_server.to("both@example.com")) == 1
    assert smtp_server.to("quiet@example.com") == []


def test_a_registration_cancelled_by_the_organizers_is_emailed_to_its_member(
    client, auth, make, smtp_server
):
    """From the participant list and from the session page, in the member's language, with
    nothing left to cancel; a member who cancels themselves and one who turned sign-up
    emails off get nothing."""
    organizer = make.user("org@example.com", locale="en")
    group = make.group(organizer, name="渋谷Python勉強会")
    ken = make.member(group, make.user("ken@example.com", display_name="健", locale="ja"))
    ann = make.member(group, make.user("ann@example.com", display_name="Ann", locale="en"))
    quiet = make.member(group, make.user("quiet@example.com", locale="en"))
    myself = make.member(group, make.user("me@example.com", locale="en"))
    quiet.email_signups = False
    session = _session(make, group, capacity=5, title="第12回")
    now = datetime.now(UTC)
    for member in (ken, ann, quiet, myself):
        register(db.session, member=member, session=session, answers={}, now=now)
    db.session.commit()
    deliver(db.session, now=now)
    smtp_server.messages.clear()

    auth.login_as(organizer)
    listing = f"/g/{group.slug}/sessions/{session.id}/participants"
    page = client.post(f"{listing}/{_participant(ken).id}/cancel", follow_redirects=True)
    assert "健&#39;s registration is cancelled. 健 is told by email." in page.get_data(as_text=True)
    [told_ja] = smtp_server.to("ken@example.com")
    assert told_ja["Subject"] == "参加登録キャンセルのお知らせ: 第12回"
    text_ja = told_ja.get_content()
    assert "健" in text_ja and "主催者により、参加登録がキャンセルされました。" in text_ja
    assert told_ja.get_content_type() == "text/plain"  # no seat: no code, no QR
    ann_id = _participant(ann).id
    client.post(f"/g/{group.slug}/participants/{ann_id}/cancel")  # the session page's button
    [told] = smtp_server.to("ann@example.com")
    assert told["Subject"] == "Registration cancelled: 第12回"
    text = told.get_content()
    assert "Your registration was cancelled by the organizers." in text
    assert "Your code" not in text and "to cancel it" not in text
    page = client.post(f"{listing}/{_participant(quiet).id}/cancel", follow_redirects=True)
    assert "registration is cancelled." in page.get_data(as_text=True)
    assert "told by email" not in page.get_data(as_text=True)
    assert db.session.get(Participant, ann_id).status == ParticipantStatus.CANCELLED
    assert smtp_server.to("quiet@example.com") == []

    auth.login_as(myself)
    client.post(f"/g/{group.slug}/participants/{_participant(myself).id}/cancel")
    assert _participant(myself) is None
    assert smtp_server.to("me@example.com") == []
    kinds = db.session.scalars(sa.select(OutboundEmail.kind).order_by(OutboundEmail.id)).all()
    assert kinds[-2:] == ["participant_cancelled_by_org"] * 2


def test_someone_let_in_by_an_organizer_gets_the_registration_with_the_qr_code(
    client, auth, make, smtp_server
):
    organizer = make.user("org@example.com", locale="en")
    group = make.group(organizer)
    first = make.member(group, make.user("first@example.com", locale="en"))
    waiting = make.member(group, make.user("wait@example.com", display_name="待ち", locale="ja"))
    waiting.email_waitlist = False  # a sign-up email: the waitlist choice does not apply
    session = _session(make, group, capacity=1, title="第12回")
    now = datetime.now(UTC)
    for member in (first, waiting):
        register(db.session, member=member, session=session, answers={}, now=now)
    db.session.commit()
    deliver(db.session, now=now)
    smtp_server.messages.clear()

    auth.login_as(organizer)
    listing = f"/g/{group.slug}/sessions/{session.id}/participants"
    page = client.post(f"{listing}/{_participant(waiting).id}/let-in", follow_redirects=True)
    assert "待ち is told by email." in page.get_data(as_text=True)
    assert _participant(waiting).status == ParticipantStatus.REGISTERED
    [message] = smtp_server.to("wait@example.com")
    assert message["Subject"] == "参加登録完了: 第12回"  # not "someone cancelled"
    code = _participant(waiting).code
    assert code in message.get_body(("plain",)).get_content()
    assert _qr_part(message) == qr_png(code)
