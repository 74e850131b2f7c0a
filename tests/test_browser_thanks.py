"""Thank-you notes end to end in a real browser, with CSRF on and the email over real SMTP.

A member (Japanese, on a phone) thanks a co-worker from the page of a session they worked;
the co-worker gets the email in Japanese, follows its link and reads the note on their page.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
from tests.factories import slots_of
from tests.test_browser import PHONE, TOKYO, _log_in
from tests.test_browser_signups import _body, _fits_the_phone, _mail_to

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
# The live server sends its mail to an in-process SMTP server (aiosmtpd) for the module.
mailbox = with_mail.mailbox
live_server = with_mail.live_server
live = with_mail.live

TITLE = "Pythonもくもく会 第11回"
NOTE = "プロジェクターを運んでくれてありがとう！\n次回もよろしくお願いします。"


def _seed(app) -> tuple[str, str, str, int]:
    """An organizer, two members in Japanese who worked setup together three days ago."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        hanako = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        ken = make.member(group, make.user("ken@example.com", display_name="佐藤 健", locale="ja"))
        day = datetime.now(TOKYO).date() - timedelta(days=3)
        session = make.session(group, day=day, title=TITLE)
        setup = slots_of(session)["setup"]
        now = datetime.now(UTC)
        for member in (hanako, ken):
            assign(db.session, organizer=organizer, member=member, slot=setup, now=now)
        db.session.commit()
        seeded = (hanako.email, ken.email, group.slug, session.id)
        db.session.remove()
    return seeded


def test_a_note_in_japanese_reaches_the_coworker_by_page_and_email(
    live, mailbox, new_context, screenshot
):
    from playwright.sync_api import expect

    sender, recipient, slug, session_id = _seed(live.app)
    base = live.url

    # The sender thanks Ken from the session's page, on a phone in Japanese.
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, sender)
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    section = page.locator("#say-thanks")
    expect(section.locator("h2")).to_have_text("お礼を伝える")
    _fits_the_phone(page, "the session page")
    section.get_by_role("link", name="佐藤 健さんにお礼を伝える").click()
    expect(page.locator("h1")).to_have_text("佐藤 健さんにお礼を伝える")
    expect(page.locator("main")).to_contain_text("名前を表示しない設定にしていてもあなたの名前")
    # Nothing written: the message is next to the field.
    page.get_by_role("button", name="送る").click()
    expect(page.locator(".field.invalid .error")).to_have_text("入力してください。")
    page.get_by_label("メッセージ").fill(NOTE)
    _fits_the_phone(page, "the note form")
    screenshot(page, "thanks-form-phone-ja")
    page.get_by_role("button", name="送る").click()
    expect(page).to_have_url(f"{base}/thanks/sent")
    expect(page.locator(".flash")).to_have_text(
        "佐藤 健さんにメッセージを送りました。ありがとうございます！"
    )
    sent = page.locator("li.note")
    expect(sent).to_have_count(1)
    expect(sent.locator(".who")).to_have_text("佐藤 健さんへ")
    expect(sent.locator(".note-body")).to_have_text(NOTE)
    _fits_the_phone(page, "the sent notes")
    screenshot(page, "thanks-sent-phone-ja")
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    expect(page.locator("#say-thanks li", has_text="佐藤 健")).to_contain_text("お礼済み")
    # Nothing went wrong but the refused empty note (a 422, which the console reports too).
    assert [p for p in problems.found if "422" not in p] == []

    # Ken gets the email in Japanese, with the note and a link to his notes.
    message = _mail_to(mailbox, recipient, "お礼のメッセージ")
    assert message["Subject"] == f"お礼のメッセージ: 山田 花子さんから（{TITLE}）"
    body = _body(message)
    assert NOTE in body
    assert f"{TITLE}で一緒に活動した山田 花子さんから" in body
    link = re.search(rf"{re.escape(base)}/thanks\b\S*", body)
    assert link, body

    # ... follows it, logs in and reads the note on his page.
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, recipient)
    page.goto(link.group(0))
    expect(page.locator("h1")).to_have_text("お礼のメッセージ")
    received = page.locator("li.note")
    expect(received).to_have_count(1)
    expect(received.locator(".who")).to_have_text("山田 花子さんから")
    expect(received.locator(".note-body")).to_have_text(NOTE)
    expect(received).to_contain_text(TITLE)
    expect(received.get_by_role("button", name="主催者に知らせる")).to_be_visible()
    _fits_the_phone(page, "the received notes")
    screenshot(page, "thanks-received-phone-ja")
    assert problems.found == []
