"""Announcements: audiences, languages over real SMTP, email choices, the rate limit, access,
the copies on the session and group pages, and the cost of sending to many."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.announcements.models import Announcement, AnnouncementRecipient, Audience
from studygroup.announcements.services import (
    GROUP_DAILY_LIMIT,
    announcements_for,
    recipients,
    send_announcement,
)
from studygroup.auth.models import User
from studygroup.extensions import db
from studygroup.groups.models import MemberRole, Membership, MembershipStatus
from studygroup.mail.models import OutboundEmail
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.rules import RuleViolation
from studygroup.signups.models import Assignment, AssignmentStatus
from tests.factories import slots_of

NOW = datetime.now(UTC)


def participant(session, user, status=ParticipantStatus.REGISTERED):
    db.session.add(Participant(session_id=session.id, user_id=user.id, status=status))
    db.session.commit()


def place(session, user, status=AssignmentStatus.CONFIRMED, role="setup"):
    slot = slots_of(session)[role]
    db.session.add(Assignment(slot_id=slot.id, user_id=user.id, status=status))
    db.session.commit()


@pytest.fixture
def crowd(make):
    """A group and a session with participants and staff in every state that matters."""
    organizer = make.user(display_name="主催者", locale="ja")
    group = make.group(organizer, name="渋谷Python勉強会")
    session = make.session(group, title="第12回")
    people = {
        "registered": make.member(group, make.user("reg@example.com", locale="ja")),
        "waitlisted": make.member(group, make.user("wait@example.com", locale="en")),
        "cancelled": make.member(group, make.user("gone@example.com", locale="en")),
        "staff": make.member(group, make.user("staff@example.com", locale="en")),
        "both": make.member(group, make.user("both@example.com", locale="ja")),
        "staff_waitlist": make.member(group, make.user("sw@example.com", locale="en")),
        "member": make.member(group, make.user("member@example.com", locale="en")),
    }
    participant(session, people["registered"])
    participant(session, people["waitlisted"], ParticipantStatus.WAITLISTED)
    participant(session, people["cancelled"], ParticipantStatus.CANCELLED)
    participant(session, people["both"])
    place(session, people["staff"])
    place(session, people["both"], role="reception")
    place(session, people["staff_waitlist"], AssignmentStatus.WAITLISTED)
    return organizer, group, session, people


def emails(users) -> set[str]:
    return {u.email for u in users}


def send(organizer, group, session, audience=Audience.SESSION, now=NOW, **texts):
    texts = {
        "subject_ja": "会場変更のお知らせ",
        "body_ja": "会場が3階に変わりました。",
        "subject_en": "The venue moved",
        "body_en": "We meet on the third floor.",
    } | texts
    return send_announcement(
        db.session,
        author=organizer,
        group=group,
        session=session,
        audience=audience,
        now=now,
        **texts,
    )


def test_who_each_audience_reaches(crowd, make):
    organizer, group, session, people = crowd
    left = make.member(group, make.user("left@example.com"))
    db.session.execute(
        sa.update(Membership)
        .where(Membership.user_id == left.id)
        .values(status=MembershipStatus.LEFT)
    )
    db.session.commit()

    def reach(audience):
        return emails(recipients(db.session, group=group, session=session, audience=audience))

    # Waitlisted participants may still get a seat: they are told too; cancelled ones not.
    assert reach(Audience.PARTICIPANTS) == {
        "reg@example.com",
        "wait@example.com",
        "both@example.com",
    }
    # Staff: confirmed places only.
    assert reach(Audience.STAFF) == {"staff@example.com", "both@example.com"}
    assert reach(Audience.SESSION) == reach(Audience.PARTICIPANTS) | reach(Audience.STAFF)
    assert len(recipients(db.session, group=group, session=session, audience=Audience.SESSION)) == 4
    members = reach(Audience.GROUP)
    assert "left@example.com" not in members
    assert members == {organizer.email, *(u.email for u in people.values())}


def test_one_email_and_one_copy_per_person_in_their_language(crowd, smtp_server, client, auth):
    organizer, group, session, people = crowd
    auth.login_as(organizer)
    path = f"/g/{group.slug}/sessions/{session.id}/announcements/new"
    data = {
        "audience": "session",
        "subject_ja": "会場変更のお知らせ",
        "body_ja": "会場が3階に変わりました。",
        "subject_en": "The venue moved",
        "body_en": "We meet on the third floor.",
    }
    preview = client.post(path, data=data | {"action": "preview"})
    assert preview.status_code == 200
    digest = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"', preview.text)
    response = client.post(path, data=data | {"action": "send", "previewed": digest[1]})
    assert response.status_code == 302

    announcement = db.session.scalar(sa.select(Announcement))
    assert announcement.recipient_count == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AnnouncementRecipient)) == 4
    received = sorted(address for m in smtp_server.messages for address in m.envelope_to)
    # The one who registered and holds a place gets it once; the organizer, the cancelled
    # participant, the waitlisted helper and the plain member get nothing.
    assert received == sorted(
        ["reg@example.com", "wait@example.com", "staff@example.com", "both@example.com"]
    )

    [ja] = smtp_server.to("reg@example.com")
    assert ja["Subject"] == "【渋谷Python勉強会】会場変更のお知らせ"
    body = ja.get_content()
    assert "会場が3階に変わりました。" in body and "third floor" not in body
    assert "さん、こんにちは。" in body and "主催者" in body
    assert "第12回" in body and "開催回" in body
    assert "受け取るメールの設定" in body

    [en] = smtp_server.to("staff@example.com")
    assert en["Subject"] == "[渋谷Python勉強会] The venue moved"
    body = en.get_content()
    assert "We meet on the third floor." in body and "3階" not in body
    assert body.startswith("Hello ") and "Choose which emails you get" in body
    assert "an organizer of 渋谷Python勉強会" in body
    assert f"/g/{group.slug}/sessions/{session.id}" in body


def test_readers_of_the_language_not_written_get_the_other(crowd, smtp_server):
    organizer, group, session, people = crowd
    send(organizer, group, session, subject_en="", body_en="")
    db.session.commit()
    from studygroup.views import send_committed_emails

    send_committed_emails()
    [en] = smtp_server.to("staff@example.com")
    assert en["Subject"] == "[渋谷Python勉強会] 会場変更のお知らせ"
    body = en.get_content()
    # The organizer's Japanese, in an English frame that says why.
    assert "会場が3階に変わりました。" in body
    assert "It was written in Japanese only." in body and body.startswith("Hello ")

    db.session.execute(sa.delete(AnnouncementRecipient))
    send(
        organizer,
        group,
        session,
        audience=Audience.STAFF,
        subject_ja="",
        body_ja="",
        now=NOW + timedelta(minutes=2),
    )
    db.session.commit()
    send_committed_emails()
    [ja] = smtp_server.to("both@example.com")[-1:]
    assert "We meet on the third floor." in ja.get_content()
    assert "英語のみ" in ja.get_content() and "さん、こんにちは。" in ja.get_content()


def test_email_choice_off_no_email_but_the_copy_is_on_the_page(crowd, smtp_server, client, auth):
    organizer, group, session, people = crowd
    quiet = people["staff"]
    quiet.email_announcements = False
    db.session.commit()
    send(organizer, group, session, audience=Audience.STAFF)
    db.session.commit()
    from studygroup.views import send_committed_emails

    send_committed_emails()
    assert smtp_server.to("staff@example.com") == []
    assert len(smtp_server.to("both@example.com")) == 1
    assert db.session.scalar(
        sa.select(AnnouncementRecipient).where(AnnouncementRecipient.user_id == quiet.id)
    )
    auth.login_as(quiet)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}")
    assert "We meet on the third floor." in page.text


def test_the_email_choice_is_on_the_profile(client, auth, make):
    member = make.user(locale="en")
    auth.login_as(member)
    page = client.get("/profile")
    assert "Announcements from organizers" in page.text
    assert 'name="email_announcements"' in page.text
    form = {
        "display_name": member.display_name,
        "locale": "en",
        "timezone": "Asia/Tokyo",
        "email_signups": "y",
    }
    assert client.post("/profile", data=form).status_code == 302
    assert db.session.get(User, member.id).email_announcements is False
    client.post("/profile", data=form | {"email_announcements": "y"})
    assert db.session.get(User, member.id).email_announcements is True


def test_only_organizers_and_both_languages_checked(crowd):
    organizer, group, session, people = crowd
    with pytest.raises(RuleViolation):
        send(people["member"], group, session)
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, subject_ja="", body_ja="", subject_en="", body_en="")
    assert refused.value.field == "subject_ja"
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, body_en="")
    assert refused.value.field == "body_en"
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, body_ja="あ" * 5001)
    assert refused.value.field == "body_ja"
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, subject_en="x" * 201)
    assert refused.value.field == "subject_en"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def test_rate_limits_say_when_to_send_again(crowd, make):
    organizer, group, session, people = crowd
    co = make.member(group, make.user(locale="en"), role=MemberRole.ORGANIZER)
    send(organizer, group, session, now=NOW)
    db.session.commit()
    # One a minute per author...
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, now=NOW + timedelta(seconds=30))
    assert "moment ago" in str(refused.value.message)
    db.session.rollback()
    # ...but another organizer may.
    send(co, group, session, now=NOW + timedelta(seconds=30))
    for i in range(2, GROUP_DAILY_LIMIT):
        send(organizer, group, session, now=NOW + timedelta(minutes=2 * i))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        send(organizer, group, session, now=NOW + timedelta(hours=3))
    # The first one leaves the 24 hours at NOW + 1 day: said in the group's time zone.
    from studygroup.i18n import format_datetime

    message = str(refused.value.message)
    assert "at most 5 announcements in 24 hours" in message
    assert format_datetime(NOW + timedelta(days=1), group.timezone) in message
    db.session.rollback()
    send(organizer, group, session, now=NOW + timedelta(days=1, seconds=1))


def _race(app, author_ids, group_id, session_id):
    """Every thread sends an announcement at the same moment, each with its own connection;
    returns "sent" or "refused" per thread."""
    import threading

    from studygroup.groups.models import Group
    from studygroup.sessions.models import StudySession

    barrier = threading.Barrier(len(author_ids), timeout=30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(author_id):
        with app.app_context():
            author = db.session.get(User, author_id)
            group = db.session.get(Group, group_id)
            session = db.session.get(StudySession, session_id)
            barrier.wait()
            try:
                send(author, group, session, audience=Audience.STAFF, now=datetime.now(UTC))
                db.session.commit()
                result = "sent"
            except RuleViolation:
                db.session.rollback()
                result = "refused"
            finally:
                db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(a,)) for a in author_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == len(author_ids), "a thread did not finish"
    return sorted(outcomes)


def _racing_app(app_factory):
    return app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 12, "max_overflow": 0, "pool_timeout": 30}
    )


def test_clicks_at_once_never_pass_the_limits_together(crowd, make, app_factory):
    """Under the group's row lock: eight co-organizers at once send five (the group's day),
    and one organizer's four clicks at once send one (the minute), on both engines."""
    organizer, group, session, people = crowd
    app = _racing_app(app_factory)
    co = [make.member(group, role=MemberRole.ORGANIZER) for _ in range(8)]
    assert (
        _race(app, [c.id for c in co], group.id, session.id)
        == ["refused"] * 3 + ["sent"] * GROUP_DAILY_LIMIT
    )
    other = make.group(organizer)
    other_session = make.session(other)
    place(other_session, people["staff"])
    outcomes = _race(app, [organizer.id] * 4, other.id, other_session.id)
    assert outcomes == ["refused"] * 3 + ["sent"]
    counted = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Announcement)
        .where(Announcement.group_id == other.id)
    )
    assert counted == 1


def test_a_refused_send_keeps_the_text_and_says_when(crowd, client, auth):
    organizer, group, session, people = crowd
    send(organizer, group, session, now=datetime.now(UTC))
    db.session.commit()
    auth.login_as(organizer)
    path = f"/g/{group.slug}/sessions/{session.id}/announcements/new"
    data = {"audience": "staff", "subject_en": "Again", "body_en": "Second text"}
    preview = client.post(path, data=data | {"action": "preview"})
    digest = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"', preview.text)[1]
    response = client.post(path, data=data | {"action": "send", "previewed": digest})
    assert response.status_code == 422
    assert "Second text</textarea>" in response.text
    assert "少し前にお知らせを送ったばかりです。次は" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 1


def test_access_404_for_another_group_403_for_a_member(crowd, client, auth, make):
    organizer, group, session, people = crowd
    other_group = make.group(organizer)
    other_session = make.session(other_group)
    auth.login_as(organizer)
    assert (
        client.get(f"/g/{group.slug}/sessions/{other_session.id}/announcements/new").status_code
        == 404
    )
    assert (
        client.post(
            f"/g/{group.slug}/sessions/{other_session.id}/announcements/new",
            data={"audience": "session", "subject_en": "x", "body_en": "y", "action": "send"},
        ).status_code
        == 404
    )
    auth.login_as(people["member"])
    assert client.get(f"/g/{group.slug}/sessions/{session.id}/announcements/new").status_code == 403
    assert client.get(f"/g/{group.slug}/announcements/new").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def test_bad_input_is_said_next_to_the_field_and_the_text_is_kept(crowd, client, auth):
    organizer, group, session, people = crowd
    auth.login_as(organizer)
    path = f"/g/{group.slug}/sessions/{session.id}/announcements/new"
    response = client.post(
        path,
        data={"audience": "session", "subject_ja": "件名だけ", "action": "preview"},
    )
    assert response.status_code == 422
    assert "件名だけ" in response.text
    assert re.search(r'id="body_ja-help">\s*<p class="error">', response.text)
    response = client.post(
        path,
        data={"audience": "everyone", "subject_en": "Hi", "body_en": "Text", "action": "preview"},
    )
    assert response.status_code == 422 and "Text</textarea>" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0


def test_preview_shows_each_language_and_send_needs_that_preview(crowd, client, auth):
    organizer, group, session, people = crowd
    auth.login_as(organizer)
    path = f"/g/{group.slug}/sessions/{session.id}/announcements/new"
    page = client.get(path)  # the organizer reads Japanese
    # The count per audience, on the choice itself.
    assert "参加者（3人）" in page.text and "スタッフ（2人）" in page.text
    data = {"audience": "participants", "subject_ja": "件名", "body_ja": "本文です。"}
    preview = client.post(path, data=data | {"action": "preview"})
    text = preview.text
    assert preview.status_code == 200
    assert "3人に送られます。" in text
    # Japanese readers get the Japanese in a Japanese frame; English readers get it too, in
    # an English frame that says it was written in Japanese only.
    assert "【渋谷Python勉強会】件名" in text and "[渋谷Python勉強会] 件名" in text
    assert "〇〇さん、こんにちは。" in text and "Hello (name)," in text
    assert "It was written in Japanese only." in text
    assert "3人に送信する" in text
    # "Send" with a text changed after the preview previews again instead of sending.
    digest = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"', text)[1]
    changed = data | {"body_ja": "変えました。", "action": "send", "previewed": digest}
    assert client.post(path, data=changed).status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Announcement)) == 0
    sent = client.post(path, data=data | {"action": "send", "previewed": digest})
    assert sent.status_code == 302
    assert db.session.scalar(sa.select(Announcement.recipient_count)) == 3


def test_the_session_page_shows_the_copy_only_to_its_recipients(crowd, client, auth):
    organizer, group, session, people = crowd
    send(organizer, group, session, audience=Audience.STAFF)
    db.session.commit()
    path = f"/g/{group.slug}/sessions/{session.id}"

    auth.login_as(people["staff"])  # en
    page = client.get(path, headers={"Accept-Language": "en"})
    assert "The venue moved" in page.text and "会場変更" not in page.text
    auth.login_as(people["both"])  # ja: the Japanese version
    page = client.get(path)
    assert "会場変更のお知らせ" in page.text and "The venue moved" not in page.text
    for outsider in ("registered", "member"):
        auth.login_as(people[outsider])
        page = client.get(path)
        assert "会場変更" not in page.text and "venue moved" not in page.text
    auth.logout()
    assert "venue moved" not in client.get(path).text and "会場変更" not in client.get(path).text
    auth.login_as(organizer)
    page = client.get(path)
    assert "会場変更のお知らせ" in page.text
    assert "2人に送信" in page.text or "sent to 2 people" in page.text
    assert "お知らせを書く" in page.text or "Write an announcement" in page.text

    shown = announcements_for(db.session, session=session, viewer=people["registered"])
    assert shown == []
    assert [a.id for a in announcements_for(db.session, session=session, viewer=organizer)] == [
        a.id for a in db.session.scalars(sa.select(Announcement))
    ]


def test_group_announcements_on_the_group_page_and_paged(crowd, client, auth, make):
    organizer, group, session, people = crowd
    for i in range(22):
        a = Announcement(
            group_id=group.id,
            author_id=organizer.id,
            audience=Audience.GROUP,
            subject_en=f"News {i:02d}",
            body_en="text",
            subject_ja=f"ニュース{i:02d}",
            body_ja="本文",
            recipient_count=1,
            created_at=NOW - timedelta(days=30 - i),
        )
        db.session.add(a)
        db.session.flush()
        db.session.add(AnnouncementRecipient(announcement_id=a.id, user_id=people["member"].id))
    db.session.commit()
    auth.login_as(people["member"])
    page = client.get(f"/g/{group.slug}", headers={"Accept-Language": "en"})
    assert "News 21" in page.text and "News 02" in page.text and "News 01" not in page.text
    assert "Show more announcements" in page.text
    more = client.get(f"/g/{group.slug}/announcements?page=2", headers={"Accept-Language": "en"})
    assert "News 01" in more.text and "News 00" in more.text and "News 21" not in more.text
    # A member who was not sent them sees none.
    auth.login_as(people["staff"])
    page = client.get(f"/g/{group.slug}/announcements")
    assert "News" not in page.text and "ニュース" not in page.text


def test_writing_to_the_whole_group(crowd, client, auth, smtp_server):
    organizer, group, session, people = crowd
    auth.login_as(organizer)
    path = f"/g/{group.slug}/announcements/new"
    data = {"audience": "group", "subject_en": "Year-end party", "body_en": "On 20 December."}
    preview = client.post(path, data=data | {"action": "preview"})
    assert preview.status_code == 200
    digest = re.search(r'name="previewed" type="hidden" value="([0-9a-f]+)"', preview.text)[1]
    assert client.post(path, data=data | {"action": "send", "previewed": digest}).status_code == 302
    announcement = db.session.scalar(sa.select(Announcement))
    assert announcement.session_id is None and announcement.recipient_count == 8
    assert len(smtp_server.messages) == 8
    auth.login_as(people["member"])
    assert "Year-end party" in client.get(f"/g/{group.slug}").text


def test_sending_to_300_costs_a_fixed_number_of_queries(make, count_queries):
    organizer = make.user()
    group = make.group(organizer)

    def add_members(n, start):
        users = [
            User(
                email=f"m{start + i}@example.com",
                password_hash="!",
                display_name=f"Member {start + i}",
                locale="ja" if i % 2 else "en",
            )
            for i in range(n)
        ]
        db.session.add_all(users)
        db.session.flush()
        db.session.add_all(
            Membership(
                user_id=u.id,
                group_id=group.id,
                role=MemberRole.MEMBER,
                status=MembershipStatus.ACTIVE,
                joined_at=NOW,
            )
            for u in users
        )
        db.session.commit()

    def queries(now):
        db.session.expire_all()
        db.session.info.pop("queued_emails", None)
        author = db.session.get(User, organizer.id)
        g = db.session.get(type(group), group.id)
        with count_queries() as q:
            send(author, g, None, audience=Audience.GROUP, now=now)
        db.session.commit()
        return q.count, len(db.session.info.get("queued_emails", []))

    add_members(30, 0)
    few, sent_at_once = queries(NOW)
    assert sent_at_once == 31  # a small announcement goes out after the commit
    add_members(270, 1000)
    many, sent_at_once = queries(NOW + timedelta(minutes=5))
    assert sent_at_once == 0  # 301 wait for the outbox's run rather than hold the request
    assert many == few <= 12
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 31 + 301


def test_the_demo_has_announcements_to_read_in_both_languages(runner, client, auth):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    to_group, to_session = db.session.scalars(
        sa.select(Announcement).order_by(Announcement.created_at)
    ).all()
    assert to_group.audience == Audience.GROUP and to_session.audience == Audience.SESSION
    assert to_session.recipient_count > 0
    # No demo email is kept in the outbox.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0

    def reader(announcement, locale):
        return db.session.scalar(
            sa.select(User)
            .join(AnnouncementRecipient, AnnouncementRecipient.user_id == User.id)
            .where(AnnouncementRecipient.announcement_id == announcement.id, User.locale == locale)
            .order_by(User.id)
            .limit(1)
        )

    from studygroup.sessions.models import StudySession

    session = db.session.get(StudySession, to_session.session_id)
    path = f"/g/{session.group.slug}/sessions/{session.id}"
    auth.login_as(reader(to_session, "ja"))
    assert "会場は2階の第2会議室です" in client.get(path).text
    auth.login_as(reader(to_group, "en"))
    page = client.get(f"/g/{session.group.slug}").text
    assert "Speakers wanted for the year-end lightning talks" in page
    assert "登壇者を募集" not in page


def test_the_organizers_words_are_text_on_every_page(crowd, client, auth):
    organizer, group, session, people = crowd
    words = '<script>alert("x")</script> & <b>bold</b>'
    send(organizer, group, session, audience=Audience.STAFF, subject_en=words, body_en=words)
    db.session.commit()
    auth.login_as(people["staff"])
    page = client.get(f"/g/{group.slug}/sessions/{session.id}").text
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page
    auth.login_as(organizer)
    preview = client.post(
        f"/g/{group.slug}/sessions/{session.id}/announcements/new",
        data={"audience": "staff", "subject_en": "Hi", "body_en": words, "action": "preview"},
    ).text
    assert "<script>alert" not in preview and "&lt;b&gt;bold&lt;/b&gt;" in preview
