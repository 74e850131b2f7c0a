"""Announcements end to end in a real browser, with CSRF on and the email over real SMTP.

An organizer on a 360 px phone in Japanese writes to a session's participants and staff in
both languages, previews it and sends it; a Japanese participant and an English helper get
it by email in their languages, and the helper reads the English copy on the session page
on a desktop.
"""

from datetime import datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.signups.models import Assignment, AssignmentStatus
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
from tests.factories import slots_of
from tests.test_browser import DESKTOP, TOKYO, _log_in
from tests.test_browser_signups import _body, _fits_the_phone, _mail_to

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = with_mail.mailbox
live_server = with_mail.live_server
live = with_mail.live

PHONE_360 = {"width": 360, "height": 780}
TITLE = "Pythonもくもく会 第12回"


def _seed(app):
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 愛子", locale="ja")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        hanako = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        tom = make.member(group, make.user("tom@example.com", display_name="Tom", locale="en"))
        day = datetime.now(TOKYO).date() + timedelta(days=5)
        session = make.session(group, day=day, title=TITLE)
        db.session.add(
            Participant(
                session_id=session.id, user_id=hanako.id, status=ParticipantStatus.REGISTERED
            )
        )
        db.session.add(
            Assignment(
                slot_id=slots_of(session)["setup"].id,
                user_id=tom.id,
                status=AssignmentStatus.CONFIRMED,
            )
        )
        db.session.commit()
        seeded = (organizer.email, hanako.email, tom.email, group.slug, session.id)
        db.session.remove()
    return seeded


def test_an_announcement_in_two_languages_from_a_phone(live, mailbox, new_context, screenshot):
    from playwright.sync_api import expect

    organizer, hanako, tom, slug, session_id = _seed(live.app)
    base = live.url

    context, problems = new_context("ja-JP", PHONE_360)
    page = context.new_page()
    _log_in(page, base, organizer)
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    section = page.locator("#announcements")
    expect(section.locator("h2")).to_have_text("お知らせ")
    section.get_by_role("link", name="お知らせを書く").click()
    expect(page.locator("h1")).to_have_text("お知らせを書く")
    expect(page.get_by_label("参加者とスタッフ（2人）")).to_be_checked()
    # A subject without its text: the message is next to the field, the subject kept.
    page.get_by_label("件名（日本語）").fill("会場変更のお知らせ")
    page.get_by_role("button", name="プレビュー").click()
    expect(page.locator("#body_ja-help .error")).to_have_text(
        "この件名に対応する本文を入力してください。"
    )
    expect(page.get_by_label("件名（日本語）")).to_have_value("会場変更のお知らせ")
    page.get_by_label("本文（日本語）").fill("会場が3階の大会議室に変わりました。")
    page.get_by_label("件名（英語）").fill("The venue moved")
    page.get_by_label("本文（英語）").fill("We meet in the large room on the third floor.")
    _fits_the_phone(page, "the announcement form")
    screenshot(page, "announcement-form-phone-ja")
    page.get_by_role("button", name="プレビュー").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("2人に送られます。")
    expect(preview).to_contain_text("【Tokyo Python Study】会場変更のお知らせ")
    expect(preview).to_contain_text("[Tokyo Python Study] The venue moved")
    expect(preview).to_contain_text("Hello (name),")
    _fits_the_phone(page, "the preview")
    screenshot(page, "announcement-preview-phone-ja")
    page.get_by_role("button", name="2人に送信する").click()
    expect(page.locator(".flash")).to_have_text("お知らせを2人に送りました。")
    copy = page.locator("#announcements li.announcement")
    expect(copy).to_have_count(1)
    expect(copy).to_contain_text("会場変更のお知らせ")
    expect(copy).to_contain_text("2人に送信")
    _fits_the_phone(page, "the session page")
    screenshot(page, "announcement-session-phone-ja")
    assert [p for p in problems.found if "422" not in p] == []

    ja = _mail_to(mailbox, hanako, "会場変更")
    assert ja["Subject"] == "【Tokyo Python Study】会場変更のお知らせ"
    assert "山田 花子さん、こんにちは。" in _body(ja) and "大会議室" in _body(ja)
    en = _mail_to(mailbox, tom, "venue")
    assert en["Subject"] == "[Tokyo Python Study] The venue moved"
    assert _body(en).startswith("Hello Tom,") and "third floor" in _body(en)

    # Tom reads the English copy on the session page, on a desktop.
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, tom)
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    copy = page.locator("#announcements li.announcement")
    expect(copy).to_contain_text("The venue moved")
    expect(copy).not_to_contain_text("会場")
    screenshot(page, "announcement-session-desktop-en")
    assert problems.found == []


def test_writing_to_the_group_in_english_on_a_desktop(live, mailbox, new_context, screenshot):
    from playwright.sync_api import expect

    organizer, hanako, tom, slug, _session_id = _seed(live.app)
    base = live.url
    with live.app.app_context():
        from studygroup.auth.models import User

        db.session.query(User).filter_by(email=organizer).update({"locale": "en"})
        db.session.commit()
        db.session.remove()
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, organizer)
    page.goto(f"{base}/g/{slug}")
    page.get_by_role("link", name="Write to the whole group").click()
    page.get_by_label("Subject (English)").fill("Year-end party")
    page.get_by_label("Text (English)").fill("On 20 December, after the session.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_contain_text("It goes to 3 people.")
    # Japanese readers get the English, in a Japanese frame that says so.
    expect(page.locator("#preview")).to_contain_text("このお知らせは英語のみで書かれています。")
    screenshot(page, "announcement-group-preview-desktop-en")
    page.get_by_role("button", name="Send to 3 people").click()
    expect(page.locator("h1")).to_have_text("Announcements")
    expect(page.locator("li.announcement")).to_contain_text("Year-end party")
    assert problems.found == []

    # Hanako reads it on the group page, on a phone in Japanese (only English was written).
    context, problems = new_context("ja-JP", PHONE_360)
    page = context.new_page()
    _log_in(page, base, hanako)
    page.goto(f"{base}/g/{slug}")
    expect(page.locator("#announcements li.announcement")).to_contain_text("Year-end party")
    _fits_the_phone(page, "the group page")
    screenshot(page, "announcement-group-phone-ja")
    ja = _mail_to(mailbox, hanako, "Year-end")
    assert "このお知らせは英語のみで書かれています。" in _body(ja)
    assert problems.found == []
