"""Sign-ups end to end in a real browser (Debian's Chromium through Playwright), with CSRF on
and email sent over real SMTP to an in-process aiosmtpd server.

A member takes the last reception place, a second member (Japanese, on a phone) joins the
waitlist, the first cancels from My schedule, and the second is moved up and told by email.
After a session, the organizer confirms attendance with one click.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from studygroup.signups.services import sign_up
from studygroup.testing import empty_all_tables, make_test_app
from tests import factories
from tests import test_browser as shared
from tests.conftest import ReceivedMail, _free_port
from tests.factories import slots_of
from tests.live_server import LiveServer
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

# test_browser's fixtures, by name: Chromium for the module, contexts that collect console
# errors, CSP violations and failed responses, and full-page screenshots.
browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot

MAIL = shared.SCREENSHOTS.parent / "mail"
TITLE = "Pythonもくもく会 第12回"
PAST_TITLE = "Pythonもくもく会 第11回"


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mailbox():
    """A real SMTP server on a free local port for the whole module."""
    from aiosmtpd.controller import Controller

    received = ReceivedMail()
    received.port = _free_port()
    controller = Controller(received, hostname="127.0.0.1", port=received.port)
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def live_server(migrated_database, mailbox):
    app = make_test_app(
        migrated_database,
        WTF_CSRF_ENABLED=True,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=mailbox.port,
        MAIL_USE_TLS=False,
    )
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live(live_server, mailbox, request):
    """The live server; its tables and the mailbox are emptied after the test, the mail it
    received kept in test-artifacts/mail/ for a person to read."""
    yield live_server
    MAIL.mkdir(parents=True, exist_ok=True)
    for n, message in enumerate(mailbox.messages, start=1):
        text = f"To: {message['To']}\nSubject: {message['Subject']}\n\n{_body(message)}"
        (MAIL / f"{request.node.name}-{n}.txt").write_text(text, encoding="utf-8")
    mailbox.messages.clear()
    with live_server.app.app_context():
        db.session.remove()
        empty_all_tables()


# --- seeding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    organizer: str
    member_a: str
    member_b: str
    slug: str
    session_id: int


def _seed(app, *, days_ahead: int, title: str, filled_by_assign: int = 0) -> Seeded:
    """An organizer and their group (Asia/Tokyo); members A (en) and B (ja) and two more;
    one session `days_ahead` days from today (negative: in the past), 10:00-12:00.

    Upcoming: one other member already has one of reception's two places (signed up).
    With `filled_by_assign`, that many members are assigned to reception by the organizer.
    """
    with app.app_context():
        make = factories.Factories(db.session)
        # No language of their own: the organizer's pages follow the browser's (en, then ja).
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        member_a = make.member(
            group, make.user("ken@example.com", display_name="Ken Ito", locale="en")
        )
        member_b = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        others = [
            make.member(group, make.user(f"{key}@example.com", display_name=name, locale="en"))
            for key, name in (("mika", "Mika Mori"), ("taro", "Taro Kato"))
        ]
        day = datetime.now(TOKYO).date() + timedelta(days=days_ahead)
        session = make.session(group, day=day, title=title)
        reception = slots_of(session)["reception"]
        assert reception.headcount == 2
        now = datetime.now(UTC)
        if filled_by_assign:
            for member in others[:filled_by_assign]:
                assign(db.session, organizer=organizer, member=member, slot=reception, now=now)
        else:
            sign_up(db.session, member=others[0], slot=reception, now=now)
        db.session.commit()
        seeded = Seeded(organizer.email, member_a.email, member_b.email, group.slug, session.id)
        db.session.remove()
    return seeded


# --- helpers ------------------------------------------------------------------------------


def _mail_to(mailbox: ReceivedMail, address: str, subject_part: str, timeout: float = 5.0):
    """The one message to `address` whose subject contains `subject_part` (waits a little)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [m for m in mailbox.to(address) if subject_part in m["Subject"]]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    subjects = [m["Subject"] for m in mailbox.to(address)]
    assert len(found) == 1, f"{address}: no single {subject_part!r} in {subjects}"
    return found[0]


def _body(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _fits_the_phone(page, what: str):
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"{what} scrolls sideways: {width}px in {viewport}px"


# --- tests --------------------------------------------------------------------------------


def test_last_place_waitlist_cancel_and_promotion_by_email(live, mailbox, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app, days_ahead=21, title=TITLE)
    base = live.url
    session_path = f"/g/{seeded.slug}/sessions/{seeded.session_id}"

    # The organizer sees reception needs one more person.
    org_context, org_problems = new_context("en-US", DESKTOP)
    org = org_context.new_page()
    _log_in(org, base, seeded.organizer)
    expect(org).to_have_url(f"{base}/")
    org.goto(f"{base}/g/{seeded.slug}")
    org.locator("main").get_by_role("link", name="Staffing", exact=True).click()
    expect(org).to_have_url(f"{base}/g/{seeded.slug}/staffing")
    expect(org.locator("h1")).to_have_text("Staffing")
    rows = org.locator("table.staffing tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("a.title")).to_have_text(TITLE)
    reception = rows.locator("ul.slots li", has_text="Reception")
    expect(reception).to_have_class("gap")
    expect(reception).to_contain_text("1/2")
    expect(reception.locator(".badge.gap")).to_have_text("1 more needed")
    screenshot(org, "signups-staffing-overview-desktop-en")

    # Member A takes the last place on the session page.
    a_context, a_problems = new_context("en-US", DESKTOP)
    a = a_context.new_page()
    _log_in(a, base, seeded.member_a)
    expect(a).to_have_url(f"{base}/")
    a.goto(f"{base}{session_path}")
    expect(a.locator("h1")).to_have_text(TITLE)
    card = a.locator("li.role-card", has=a.locator("h3", has_text="Reception"))
    expect(card.locator(".role-head .badge")).to_have_text("1 of 2")
    expect(card.locator(".gap-note")).to_have_text("1 more needed")
    expect(card.locator(".role-head .muted")).to_have_text("09:30–10:30")
    screenshot(a, "signups-session-before-signup-desktop-en")
    card.get_by_role("button", name="Sign up").click()
    expect(a.locator(".flash")).to_have_text("You are signed up as Reception. Thank you!")
    card = a.locator("li.role-card", has=a.locator("h3", has_text="Reception"))
    expect(card.locator(".role-head .badge")).to_have_text("2 of 2 · Full")
    expect(card.locator(".role-head .badge")).to_have_class("badge full")
    expect(card.locator(".gap-note")).to_have_count(0)
    expect(card).to_have_class("role-card")
    expect(card.locator(".people-line")).to_have_text("Mika Mori, Ken Ito")
    expect(card.locator(".mine .badge")).to_have_text("You are on this role")
    screenshot(a, "signups-session-signed-up-desktop-en")

    # Member B, in Japanese on a phone: reception is full, so B joins its waitlist.
    b_context, b_problems = new_context("ja-JP", PHONE)
    b = b_context.new_page()
    _log_in(b, base, seeded.member_b)
    expect(b).to_have_url(f"{base}/")
    b.goto(f"{base}{session_path}")
    expect(b.locator("html")).to_have_attribute("lang", "ja")
    card = b.locator("li.role-card", has=b.locator("h3", has_text="受付"))
    expect(card.locator(".role-head .badge")).to_have_text("2/2人 · 満員")
    expect(card.get_by_role("button", name="申し込む")).to_have_count(0)
    expect(card.get_by_role("button", name="キャンセル待ちに登録")).to_be_visible()
    _fits_the_phone(b, "the session page")
    screenshot(b, "signups-session-full-phone-ja")
    card.get_by_role("button", name="キャンセル待ちに登録").click()
    expect(b.locator(".flash")).to_have_text(
        "この役割は定員に達しているため、キャンセル待ちに登録しました。"
        "空きが出たらメールでお知らせします。"
    )
    card = b.locator("li.role-card", has=b.locator("h3", has_text="受付"))
    expect(card.locator(".mine .badge")).to_have_text("キャンセル待ち 1番目")
    expect(card.get_by_role("button", name="キャンセル待ちを取り下げる")).to_be_visible()
    expect(card).to_contain_text("キャンセル待ち1人")
    _fits_the_phone(b, "the session page")
    screenshot(b, "signups-session-waitlisted-phone-ja")
    b.locator("header.site").get_by_text("メニュー").click()  # a phone: the links are in the menu
    b.locator("header.site").get_by_role("link", name="自分の予定").click()
    expect(b).to_have_url(f"{base}/schedule")
    place = b.locator("ul.sessions li.session")
    expect(place).to_have_count(1)
    expect(place.locator(".role")).to_have_text("受付")
    expect(place.locator(".badge")).to_have_text("キャンセル待ち · 1番目")
    _fits_the_phone(b, "My schedule")
    screenshot(b, "signups-schedule-waitlisted-phone-ja")

    # The organizer's overview now shows reception full, with one waiting.
    org.reload()
    reception = org.locator("table.staffing ul.slots li", has_text="Reception")
    expect(reception).to_have_class("full")
    expect(reception).to_contain_text("2/2")
    expect(reception).to_contain_text("+1 waiting")
    expect(reception.locator(".badge.gap")).to_have_count(0)
    screenshot(org, "signups-staffing-overview-waitlist-desktop-en")

    # A gives the place up from My schedule (the confirm dialog is accepted).
    a.locator("header.site").get_by_role("link", name="My schedule").click()
    expect(a).to_have_url(f"{base}/schedule")
    place = a.locator("ul.sessions li.session")
    expect(place).to_have_count(1)
    expect(place.locator("strong")).to_have_text(TITLE)
    expect(place.locator(".badge")).to_have_text("Confirmed")
    screenshot(a, "signups-schedule-confirmed-desktop-en")
    place.get_by_role("button", name="Give up this role").click()
    expect(a).to_have_url(f"{base}/schedule")
    expect(a.locator(".flash")).to_have_text("You gave up your place as Reception.")
    expect(a.locator("ul.sessions li.session")).to_have_count(0)
    expect(a.locator("main")).to_contain_text("You have no places coming up.")
    screenshot(a, "signups-schedule-after-cancel-desktop-en")

    # The email: B (Japanese) is moved up; A had English confirmation and cancellation.
    promoted = _mail_to(mailbox, seeded.member_b, "繰り上がりました")
    assert "受付" in promoted["Subject"] and TITLE in promoted["Subject"]
    assert promoted["Subject"] == f"キャンセル待ちから繰り上がりました: {TITLE} の受付"
    body = _body(promoted)
    assert "山田 花子さん、こんにちは。" in body
    assert "キャンセル待ちの1番目だったあなたの参加登録が確定しました" in body
    assert "受付 9:30–10:30" in body
    assert f"{base}{session_path}" in body
    joined = _mail_to(mailbox, seeded.member_b, "キャンセル待ちに登録しました")
    assert "受付" in joined["Subject"] and TITLE in joined["Subject"]

    confirmed = _mail_to(mailbox, seeded.member_a, "You are signed up")
    assert confirmed["Subject"] == f"You are signed up: Reception, {TITLE}"
    assert "Hello Ken Ito," in _body(confirmed)
    assert "Thank you for helping! Your place is confirmed." in _body(confirmed)
    cancelled = _mail_to(mailbox, seeded.member_a, "Cancelled")
    assert cancelled["Subject"] == f"Cancelled: Reception, {TITLE}"
    assert "Your place is cancelled. Thank you for letting us know in time." in _body(cancelled)
    assert "Role: Reception 09:30–10:30" in _body(cancelled)
    assert len(mailbox.to(seeded.member_a)) == 2
    assert len(mailbox.to(seeded.member_b)) == 2
    assert mailbox.to(seeded.organizer) == []

    # B reloads their schedule: the place is confirmed now.
    b.reload()
    place = b.locator("ul.sessions li.session")
    expect(place).to_have_count(1)
    expect(place.locator(".badge")).to_have_text("確定")
    expect(place.locator(".badge")).to_have_class("badge status-confirmed")
    _fits_the_phone(b, "My schedule")
    screenshot(b, "signups-schedule-promoted-phone-ja")
    b.goto(f"{base}{session_path}")
    card = b.locator("li.role-card", has=b.locator("h3", has_text="受付"))
    expect(card.locator(".mine .badge")).to_have_text("この役割に登録済み")
    # In the order they got their places, the same on every engine.
    expect(card.locator(".people-line")).to_have_text("Mika Mori、山田 花子")
    screenshot(b, "signups-session-promoted-phone-ja")

    # The organizer's page for the session: B confirmed, and the promotion in the history.
    org.reload()
    expect(org.locator("table.staffing ul.slots li", has_text="Reception")).to_contain_text("2/2")
    org.locator("table.staffing a.title").click()
    expect(org).to_have_url(f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}/staffing")
    expect(org.locator("h1")).to_have_text(f"Staffing: {TITLE}")
    slot = org.locator("section.slot", has=org.locator("h2", has_text="Reception"))
    expect(slot.locator("h2 .badge")).to_have_text("2/2")
    expect(slot.locator("ul.people .name")).to_have_count(2)
    assert sorted(slot.locator("ul.people .name").all_inner_texts()) == ["Mika Mori", "山田 花子"]
    expect(slot.locator("h3", has_text="Waitlist")).to_have_count(0)
    history = org.locator("ul.history li")
    expect(history).to_have_count(5)
    expect(history.filter(has_text="moved up from the waitlist")).to_have_count(1)
    expect(history.filter(has_text="moved up from the waitlist")).to_contain_text(
        "studygroup: moved up from the waitlist — 山田 花子, Reception"
    )
    expect(history.filter(has_text="Ken Ito: cancelled")).to_have_count(1)
    screenshot(org, "signups-session-staffing-desktop-en")

    for context, problems in (
        (org_context, org_problems),
        (a_context, a_problems),
        (b_context, b_problems),
    ):
        context.close()
        assert problems.found == []

    # The same staffing pages for an organizer reading Japanese on a phone.
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, seeded.organizer)
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/g/{seeded.slug}/staffing")
    expect(page.locator("table.staffing ul.slots li", has_text="受付")).to_contain_text("2/2")
    _fits_the_phone(page, "the staffing overview")
    screenshot(page, "signups-staffing-overview-phone-ja")
    page.locator("table.staffing a.title").click()
    expect(page.locator("ul.history")).to_contain_text("キャンセル待ちから繰り上げ")
    _fits_the_phone(page, "the session's staffing page")
    screenshot(page, "signups-session-staffing-phone-ja")
    context.close()
    assert problems.found == []


def test_organizer_confirms_attendance_after_the_session_in_one_click(
    live, mailbox, new_context, screenshot
):
    from playwright.sync_api import expect

    seeded = _seed(live.app, days_ahead=-3, title=PAST_TITLE, filled_by_assign=2)
    base = live.url
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, seeded.organizer)
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}")
    page.get_by_role("link", name="Staffing", exact=True).click()
    expect(page.locator("h1")).to_have_text(f"Staffing: {PAST_TITLE}")
    slot = page.locator("section.slot", has=page.locator("h2", has_text="Reception"))
    people = slot.locator("ul.people li")
    expect(people.locator(".name")).to_have_text(["Mika Mori", "Taro Kato"])
    expect(people.locator(".badge")).to_have_text(["Not recorded", "Not recorded"])
    # Not inside `.actions`: that is a <p>, which the <form> in it closes (see the report).
    confirmed = page.locator("main .badge", has_text="Attendance confirmed")
    expect(confirmed).to_have_count(0)
    screenshot(page, "signups-attendance-before-desktop-en")

    page.get_by_role(
        "button", name="Confirm attendance: 2 unrecorded places count as worked"
    ).click()
    expect(page.locator(".flash")).to_have_text("Attendance confirmed: 2 places marked as worked.")
    slot = page.locator("section.slot", has=page.locator("h2", has_text="Reception"))
    people = slot.locator("ul.people li")
    expect(people.locator(".badge")).to_have_text(["Worked", "Worked"])
    expect(people.locator(".badge.att-worked")).to_have_count(2)
    expect(people.get_by_role("button", name="Worked")).to_have_count(0)
    expect(confirmed).to_contain_text("Attendance confirmed on ")
    expect(page.locator("ul.history li", has_text="confirmed attendance")).to_have_count(1)
    screenshot(page, "signups-attendance-confirmed-desktop-en")
    context.close()
    assert problems.found == []
