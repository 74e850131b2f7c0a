"""Issue 12's "done when", walked in a real browser on the demo database (CSRF on, email over
a real SMTP server):

- Kobayashi, a member not yet registered for the next meeting, registers on a 360 px phone
  in Japanese, answering its two questions, and gets the email with her code in the text and
  its QR code as an image/png part;
- Maria, registered for today's hands-on, opens her QR code on an English phone;
- Watanabe, on reception today, opens the check-in page on a 360x740 phone in Japanese,
  checks Maria in by her typed code and another participant found by a search, and the count
  moves each time;
- the organizer writes to today's participants and staff in Japanese and English, and
  Watanabe (staff, Japanese) and Maria (participant, English) each get it in their language;
- the hands-on's public page carries og:image, a Twitter card and a schema.org Event (read
  with extruct), and the card is a 1200x630 PNG.

Screenshots go to test-artifacts/screenshots/day-walk-*.png (git-ignored) for a person to
look at.
"""

import io
import re
from datetime import UTC, datetime

import extruct
import pytest
import sqlalchemy as sa
from PIL import Image

from studygroup.auth.models import User
from studygroup.demo import DEMO_PASSWORD, DEMO_SLUG
from studygroup.demo_participants import TODAY_TITLE, today_session
from studygroup.extensions import db
from studygroup.participants.codes import qr_png
from studygroup.participants.models import Participant, ParticipantStatus
from studygroup.sessions.models import StudySession
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
from tests.test_browser import _log_in
from tests.test_browser_signups import _body, _fits_the_phone, _mail_to

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = with_mail.mailbox
live_server = with_mail.live_server
live = with_mail.live

PHONE = {"width": 360, "height": 740}
GROUP = "渋谷Python勉強会 (Shibuya.py)"


def _seed_demo(app) -> dict:
    """The demo; the next meeting's and today's hands-on ids, Maria's code for today, and a
    registered participant of today not yet checked in, with a reading to search by."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        now = datetime.now(UTC)
        next_id = db.session.scalar(
            sa.select(StudySession.id)
            .where(StudySession.starts_at > now, StudySession.title.contains("第"))
            .order_by(StudySession.starts_at)
            .limit(1)
        )
        today = today_session(db.session)
        waiting = db.session.execute(
            sa.select(User.email, User.display_name, User.reading, Participant.code)
            .join(Participant, Participant.user_id == User.id)
            .where(
                Participant.session_id == today.id,
                Participant.status == ParticipantStatus.REGISTERED,
                Participant.checked_in_at.is_(None),
            )
            .order_by(Participant.id)
        ).all()
        maria = next(row for row in waiting if row.email == "maria@example.com")
        ja = next(row for row in waiting if row.reading and row.email != "maria@example.com")
        seeded = {
            "next_id": next_id,
            "today_id": today.id,
            "maria_code": maria.code,
            "found": ja.display_name,
            "reading": ja.reading.split()[0],  # the family name's reading
            "found_email": ja.email,
        }
        db.session.remove()
    return seeded


def test_the_day_itself_on_the_demo(live, mailbox, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed_demo(live.app)
    base = live.url
    group_url = f"{base}/g/{DEMO_SLUG}"
    today_url = f"{group_url}/sessions/{seeded['today_id']}"

    # 1. Kobayashi registers for the next meeting on her phone, in Japanese.
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, "kobayashi@example.com", DEMO_PASSWORD)
    page.goto(f"{group_url}/sessions/{seeded['next_id']}")
    box = page.locator("#participants")
    expect(box).to_contain_text("25 / 40人 参加登録")
    screenshot(page, "day-walk-1-next-meeting-ja-360")
    box.get_by_role("link", name="参加登録する").click()
    page.get_by_label("ご所属（会社・学校など）").fill("渋谷テック株式会社")
    page.get_by_label("はい").check()
    _fits_the_phone(page, "the registration form")
    screenshot(page, "day-walk-2-register-ja-360")
    page.get_by_role("button", name="参加登録する").click()
    expect(page.locator("h1")).to_contain_text("あなたの参加登録")
    expect(page.locator("main")).to_contain_text("渋谷テック株式会社")
    expect(page.locator(".qr-code svg")).to_be_visible()
    code = page.locator(".code code").inner_text()
    _fits_the_phone(page, "the confirmation")
    screenshot(page, "day-walk-3-confirmation-ja-360")
    assert problems.found == []

    message = _mail_to(mailbox, "kobayashi@example.com", "参加登録完了")
    assert f"受付コード: {code}" in _body(message)
    [png] = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert png.get_content() == qr_png(code)  # the QR code of her code, as the app draws it
    assert Image.open(io.BytesIO(png.get_content())).size[0] >= 100

    # 2. Maria opens her registration for today on her phone, in English: the QR code.
    context, problems = new_context("en-US", PHONE)
    maria = context.new_page()
    _log_in(maria, base, "maria@example.com", DEMO_PASSWORD)
    maria.goto(today_url)
    maria.locator("#participants").get_by_role("link", name="Your registration and QR code").click()
    expect(maria.locator(".qr-code svg")).to_be_visible()
    expect(maria.locator(".code code")).to_have_text(seeded["maria_code"])
    _fits_the_phone(maria, "Maria's confirmation")
    screenshot(maria, "day-walk-4-maria-qr-en-360")
    assert problems.found == []

    # 3. Watanabe, on reception today, checks Maria in by code and another by a search.
    context, problems = new_context("ja-JP", PHONE)
    desk = context.new_page()
    _log_in(desk, base, "watanabe@example.com", DEMO_PASSWORD)
    desk.goto(today_url)
    desk.get_by_role("link", name="受付画面を開く").click()
    counts = desk.locator("#count-participants")
    expect(counts).to_have_text("受付済み 5 / 20人")
    expect(desk.locator("#count-staff")).to_have_text("スタッフ 4 / 5人")
    _fits_the_phone(desk, "the check-in page")
    screenshot(desk, "day-walk-5-checkin-ja-360")
    desk.get_by_label("受付コード", exact=True).fill(seeded["maria_code"].lower())
    desk.locator("#code-form button[type=submit]").click()
    expect(desk.locator(".checkin-banner.ok")).to_have_text("受付済み：Maria Garciaさん")
    expect(counts).to_have_text("受付済み 6 / 20人")
    screenshot(desk, "day-walk-6-by-code-ja-360")
    desk.get_by_label("名前・よみがな・受付コード").fill(seeded["reading"])
    hit = desk.locator("button.hit-button", has_text=seeded["found"])
    expect(hit).to_be_visible()
    screenshot(desk, "day-walk-7-search-ja-360")
    hit.click()
    expect(desk.locator(".checkin-banner.ok")).to_have_text(f"受付済み：{seeded['found']}さん")
    expect(counts).to_have_text("受付済み 7 / 20人")
    _fits_the_phone(desk, "the check-in page")
    screenshot(desk, "day-walk-8-by-search-ja-360")
    assert problems.found == []

    # 4. The organizer writes to today's participants and staff in both languages.
    mailbox.messages.clear()
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, "organizer@example.com", DEMO_PASSWORD)
    page.goto(today_url)
    page.locator("#announcements").get_by_role("link", name="お知らせを書く").click()
    expect(page.get_by_role("radio", name=re.compile(r"参加者とスタッフ（\d+人）"))).to_be_checked()
    page.get_by_label("件名（日本語）").fill("Wi-Fi のパスワード")
    page.get_by_label("本文（日本語）").fill(
        "会場の Wi-Fi は shibuya-py、パスワードは受付にあります。"
    )
    page.get_by_label("件名（英語）").fill("The Wi-Fi password")
    page.get_by_label("本文（英語）").fill(
        "The Wi-Fi is shibuya-py; ask reception for the password."
    )
    page.get_by_role("button", name="プレビュー").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text(f"【{GROUP}】Wi-Fi のパスワード")
    expect(preview).to_contain_text(f"[{GROUP}] The Wi-Fi password")
    _fits_the_phone(page, "the preview")
    screenshot(page, "day-walk-9-announcement-preview-ja-360")
    page.get_by_role("button", name=re.compile(r"^\d+人に送信する$")).click()
    expect(page.locator(".flash")).to_contain_text("人に送りました")
    screenshot(page, "day-walk-10-announcement-sent-ja-360")
    assert problems.found == []

    staff = _mail_to(mailbox, "watanabe@example.com", "Wi-Fi")
    assert staff["Subject"] == f"【{GROUP}】Wi-Fi のパスワード"
    assert "渡辺 愛さん、こんにちは。" in _body(staff) and "受付にあります" in _body(staff)
    participant = _mail_to(mailbox, "maria@example.com", "Wi-Fi")
    assert participant["Subject"] == f"[{GROUP}] The Wi-Fi password"
    assert _body(participant).startswith("Hello Maria Garcia,")
    assert "ask reception" in _body(participant) and "パスワード" not in _body(participant)
    found = _mail_to(mailbox, seeded["found_email"], "Wi-Fi")
    assert found["Subject"] == f"【{GROUP}】Wi-Fi のパスワード"

    # 5. The hands-on's public page, as a crawler and a chat app read it, and its card.
    context, problems = new_context("ja-JP", PHONE)
    public = context.new_page()
    response = public.goto(today_url)
    assert response.status == 200
    html = public.content()
    data = extruct.extract(
        html, base_url=today_url, syntaxes=["json-ld", "opengraph"], uniform=True
    )
    [og] = data["opengraph"]
    [event] = data["json-ld"]
    assert event["@type"] == "Event" and event["name"] == TODAY_TITLE
    assert event["startDate"].endswith("+09:00")
    assert event["eventStatus"] == "https://schema.org/EventScheduled"
    assert event["location"]["name"] == "渋谷区民会館 第1会議室"
    assert og["og:title"].startswith(TODAY_TITLE)
    twitter = dict(re.findall(r'<meta name="(twitter:[^"]+)" content="([^"]*)"', html))
    assert twitter["twitter:card"] == "summary_large_image"
    assert twitter["twitter:image"] == og["og:image"]
    screenshot(public, "day-walk-11-public-page-ja-360")
    card = context.request.get(og["og:image"])
    assert card.status == 200 and card.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(card.body())).size == (1200, 630)
    shown = context.new_page()
    shown.goto(og["og:image"])
    screenshot(shown, "day-walk-12-card")
    # Opened on its own, an image makes Chromium ask for /favicon.ico, which the site has not.
    assert [p for p in problems.found if "/favicon.ico" not in p] == []
