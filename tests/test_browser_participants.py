"""Participants end to end in a real browser, with CSRF on and email over real SMTP.

A member on a 360 px phone in Japanese registers for a session, answering its questions
(a required one left empty first: the other answer stays), sees the confirmation with the QR
code, and gets the email with the code and its QR image. An English reader on a desktop finds
the session full, joins the waitlist, and sees their number in line.
"""

from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.participants.models import ParticipantQuestion, QuestionKind
from studygroup.participants.services import register
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
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


def _seed(app, *, capacity: int):
    """A group with a session taking `capacity` participants and two questions; Hanako (ja)
    and Ken (en) are members; others fill the seats but one."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        hanako = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        ken = make.member(group, make.user("ken@example.com", display_name="Ken Ito", locale="en"))
        day = datetime.now(TOKYO).date() + timedelta(days=12)
        session = make.session(group, day=day, title=TITLE)
        session.participant_capacity = capacity
        session.participant_cancel_hours_before = 24
        db.session.commit()
        others = [make.member(group) for _ in range(capacity - 1)]
        now = datetime.now(UTC)
        for other in others:
            register(db.session, member=other, session=session, answers={}, now=now)
        db.session.commit()
        db.session.add_all(
            [
                ParticipantQuestion(
                    session_id=session.id, text="ご所属", required=True, position=0
                ),
                ParticipantQuestion(
                    session_id=session.id,
                    text="懇親会に参加しますか？",
                    kind=QuestionKind.YES_NO,
                    position=1,
                ),
            ]
        )
        db.session.commit()
        seeded = (hanako.email, ken.email, group.slug, session.id)
        db.session.remove()
    return seeded


def _shots(page, name, screenshot):
    screenshot(page, name)


def test_register_on_a_phone_in_japanese_then_the_waitlist_in_english(
    live, mailbox, new_context, screenshot
):
    from playwright.sync_api import expect

    hanako, ken, slug, session_id = _seed(live.app, capacity=3)
    base = live.url

    context, problems = new_context("ja-JP", PHONE_360)
    page = context.new_page()
    _log_in(page, base, hanako)
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    box = page.locator("#participants")
    expect(box.locator("h2")).to_have_text("参加者")
    expect(box).to_contain_text("2 / 3人 参加登録")
    _fits_the_phone(page, "the session page")
    _shots(page, "participants-session-ja-360", screenshot)
    box.get_by_role("link", name="参加登録する").click()

    # The required answer left empty: the page says so, the yes-no answer stays chosen.
    page.get_by_label("はい").check()
    page.get_by_role("button", name="参加登録する").click()
    expect(page.locator(".field.invalid .error")).to_have_text("入力してください。")
    expect(page.get_by_label("はい")).to_be_checked()
    _fits_the_phone(page, "the registration form")
    _shots(page, "participants-form-error-ja-360", screenshot)
    page.get_by_label("ご所属（必須）").fill("ACME株式会社")
    page.get_by_role("button", name="参加登録する").click()

    expect(page.locator("h1")).to_contain_text("あなたの参加登録")
    expect(page.locator("main")).to_contain_text("参加登録済み")
    expect(page.locator("main")).to_contain_text("ACME株式会社")
    expect(page.locator(".qr-code svg")).to_be_visible()
    code = page.locator(".code code").inner_text()
    assert len(code) == 6
    _fits_the_phone(page, "the confirmation")
    _shots(page, "participants-confirmation-ja-360", screenshot)

    message = _mail_to(mailbox, hanako, "参加登録完了")
    assert code in _body(message)
    [png] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert png.get_content()[:4] == b"\x89PNG"
    assert [p for p in problems.found if "422" not in p] == []  # the form sent back

    # Ken, on a desktop in English: the session is full now, he joins the waitlist.
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, ken)
    page.goto(f"{base}/g/{slug}/sessions/{session_id}")
    expect(page.locator("#participants")).to_contain_text("3 / 3 registered")
    page.locator("#participants").get_by_role("link", name="Join the waitlist").click()
    page.get_by_label("ご所属 (required)").fill("Example Ltd")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("main")).to_contain_text("On the waitlist")
    expect(page.locator("main")).to_contain_text("No. 1 in line")
    expect(page.locator(".qr-code")).to_have_count(0)
    _shots(page, "participants-waitlisted-en-desktop", screenshot)
    page.goto(f"{base}/schedule")
    expect(page.locator("#attending")).to_contain_text(TITLE)
    _shots(page, "participants-schedule-en-desktop", screenshot)
    _mail_to(mailbox, ken, "On the waitlist")
    assert problems.found == []
