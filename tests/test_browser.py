"""End to end in a real browser: Debian's Chromium, driven by Playwright, against the real app
served by a WSGI server on 127.0.0.1, with CSRF on.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from studygroup.extensions import db
from studygroup.sessions.services import cancel_session
from studygroup.testing import empty_all_tables, make_test_app
from tests import factories
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-gpu",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
TOKYO = ZoneInfo("Asia/Tokyo")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SATURDAY, SUNDAY = 5, 6

# Reports every Content-Security-Policy violation as a console error, which the test collects.
# Scripts added this way run outside the page's CSP.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"}`
                + ` at ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _unavailable(reason: str):
    """Skip on a developer's machine, but fail in CI, where the browser tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so the browser tests must run)")
    pytest.skip(reason)


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(
            f"{CHROMIUM} is missing: install Debian's chromium and fonts-noto-cjk "
            "(`make browser` does it as root)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def live_server(migrated_database):
    app = make_test_app(migrated_database, WTF_CSRF_ENABLED=True)
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def live(live_server):
    """The live server, its tables emptied after the test as the `app` fixture does."""
    yield live_server
    with live_server.app.app_context():
        db.session.remove()
        empty_all_tables()


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str):
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)

    return take


@dataclass(frozen=True)
class Seeded:
    organizer_email: str
    member_email: str
    group_name: str
    slug: str


def _seed(app, *, sessions: int = 0) -> Seeded:
    """An organizer, their group (Asia/Tokyo) and one member; optionally a few sessions."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        member = make.member(group, make.user("member@example.com", display_name="Ken Ito"))
        first = _first_of_next_month()
        made = [
            make.session(group, day=_nth_weekday(first, SATURDAY, 3) + timedelta(weeks=5 * i))
            for i in range(sessions)
        ]
        if len(made) > 1:
            cancel_session(made[1], now=datetime.now(TOKYO))
            db.session.commit()
        seeded = Seeded(organizer.email, member.email, group.name, group.slug)
        db.session.remove()
    return seeded


class PageProblems:
    """Console errors, CSP violations, uncaught errors and failed responses of a context."""

    def __init__(self, context):
        self.found: list[str] = []
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", self._console)
        context.on("weberror", lambda error: self.found.append(f"uncaught: {error.error}"))
        context.on("response", self._response)

    def _console(self, message):
        if message.type in ("error", "assert") or "Content Security Policy" in message.text:
            where = message.location.get("url", "")
            self.found.append(f"console {message.type}: {message.text} ({where})")

    def _response(self, response):
        if response.status >= 400:
            self.found.append(f"HTTP {response.status}: {response.request.method} {response.url}")


@pytest.fixture
def new_context(browser):
    """`context, problems = new_context(locale, viewport)`; contexts left open are closed."""
    opened = []

    def make(locale: str, viewport: dict):
        context = browser.new_context(locale=locale, timezone_id="Asia/Tokyo", viewport=viewport)
        context.set_default_timeout(5000)
        # Risky buttons ask "are you sure?" (static/confirm.js): the person says yes.
        context.on("page", lambda page: page.on("dialog", lambda dialog: dialog.accept()))
        opened.append(context)
        return context, PageProblems(context)

    yield make
    for context in opened:
        context.close()


# --- dates, computed without the app ------------------------------------------------------


def _first_of_next_month() -> date:
    today = datetime.now(TOKYO).date()
    return (today.replace(day=1) + timedelta(days=32)).replace(day=1)


def _nth_weekday(first_of_month: date, weekday: int, n: int) -> date:
    offset = (weekday - first_of_month.weekday()) % 7
    return first_of_month + timedelta(days=offset + 7 * (n - 1))


def _third_saturdays(first: date, months: int) -> list[date]:
    days = []
    month = first
    for _ in range(months):
        days.append(_nth_weekday(month, SATURDAY, 3))
        month = (month + timedelta(days=32)).replace(day=1)
    return days


def _japanese(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日({'月火水木金土日'[day.weekday()]})"


ENGLISH_DATE = re.compile(
    r"^(?P<weekday>Mon|Tue|Wed|Thu|Fri|Sat|Sun),? (?P<day>\d{1,2}) (?P<month>[A-Z][a-z]{2}) "
    r"(?P<year>\d{4})\s+(?P<start>\d{1,2}:\d{2})–(?P<end>\d{1,2}:\d{2})$"
)


def _parse_english(text: str) -> tuple[date, str, str, str]:
    """`Sat, 19 Dec 2026 10:00–12:00` -> (date, weekday shown, start, end)."""
    found = ENGLISH_DATE.match(" ".join(text.split()))
    assert found, f"not an English date and time range: {text!r}"
    day = datetime.strptime(f"{found['day']} {found['month']} {found['year']}", "%d %b %Y").date()
    return day, found["weekday"], found["start"], found["end"]


def _local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).astimezone(TOKYO).date()


# --- page helpers -------------------------------------------------------------------------


def _log_in(page, base: str, email: str, password: str = factories.PASSWORD):
    page.goto(f"{base}/login")
    form = page.locator("main form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("button[type=submit]").click()


def _no_horizontal_scroll(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")


# --- tests --------------------------------------------------------------------------------


def test_organizer_posts_a_monthly_series_and_a_member_reads_it_in_japanese(
    live, new_context, screenshot
):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url
    first = _first_of_next_month()
    saturdays = _third_saturdays(first, 6)

    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()

    # A wrong password is refused next to the password field.
    _log_in(page, base, seeded.organizer_email, "not the password at all")
    password_field = page.locator(".field", has=page.locator("input[name=password]"))
    expect(password_field.locator(".error")).to_have_text("The email or the password is not right.")
    expect(page.locator("input[name=password]")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "login-wrong-password-desktop-en")

    # Log in through the form, with CSRF on.
    page.locator("input[name=password]").fill(factories.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_role("link", name=seeded.group_name).first.click()
    expect(page).to_have_url(f"{base}/g/{seeded.slug}")
    expect(page.locator("h1")).to_have_text(seeded.group_name)

    # The series form: every 3rd Saturday, 10:00-12:00, for 6 months from the 1st of next month.
    page.get_by_role("link", name="Post a series").click()
    expect(page).to_have_url(f"{base}/g/{seeded.slug}/series/new")
    page.get_by_label("Title").fill("Python mokumoku")
    page.get_by_label("Monthly, on the chosen weeks").check()
    for week in ("1st", "2nd", "4th", "Last"):
        page.get_by_label(week, exact=True).uncheck()
    page.get_by_label("3rd", exact=True).check()
    page.get_by_label("Day of the week").select_option("SA")
    page.get_by_label("First date", exact=True).fill(first.isoformat())
    page.get_by_label("For how many months").fill("6")
    page.get_by_label("Starts").fill("10:00")
    page.get_by_label("Ends").fill("12:00")

    page.get_by_role("button", name="Preview dates").click()
    expect(page.locator(".panel h2")).to_have_text("6 dates")
    preview = page.locator("ol.dates li")
    expect(preview).to_have_count(6)
    shown = [_parse_english(text) for text in preview.all_inner_texts()]
    assert [weekday for _, weekday, _, _ in shown] == ["Sat"] * 6
    assert all(day.weekday() == SATURDAY for day, _, _, _ in shown)
    assert [day for day, _, _, _ in shown] == saturdays
    assert {(start, end) for _, _, start, end in shown} == {("10:00", "12:00")}
    screenshot(page, "series-preview-desktop-en")

    page.get_by_role("button", name="Post the sessions").click()
    expect(page).to_have_url(f"{base}/g/{seeded.slug}")
    expect(page.locator(".flash")).to_have_text("6 sessions are posted.")
    sessions = page.locator("ul.sessions li.session")
    expect(sessions).to_have_count(6)  # the preview posted nothing
    expect(sessions.locator("strong")).to_have_text(["Python mokumoku"] * 6)
    times = sessions.locator("time")
    assert [_local_day(t.get_attribute("datetime")) for t in times.all()] == saturdays
    screenshot(page, "group-desktop-en")

    # Move the second session to the Sunday after, on its edit page.
    moved = saturdays[1] + timedelta(days=1)
    assert moved.weekday() == SUNDAY
    sessions.nth(1).get_by_role("link").click()
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page.locator("h1")).to_have_text("Edit the session")
    expect(page.locator("input[name=day]")).to_have_value(saturdays[1].isoformat())
    screenshot(page, "session-edit-desktop-en")
    page.locator("input[name=day]").fill(moved.isoformat())
    page.get_by_role("button", name="Save the session").click()
    expect(page.locator(".flash")).to_have_text("The session is saved.")
    when = page.locator("dl.facts time")
    assert _local_day(when.get_attribute("datetime")) == moved
    assert _parse_english(when.inner_text())[:2] == (moved, "Sun")

    # Cancel the third one from its page.
    page.locator(".crumbs a").click()
    page.locator("ul.sessions li.session").nth(2).get_by_role("link").click()
    page.get_by_role("button", name="Cancel this session").click()
    expect(page.locator(".flash")).to_have_text("The session is cancelled.")
    expect(page.locator("h1 .badge.cancelled")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Hold it after all")).to_be_visible()
    screenshot(page, "session-cancelled-desktop-en")

    page.locator(".crumbs a").click()
    sessions = page.locator("ul.sessions li.session")
    expect(sessions).to_have_count(6)
    expect(page.locator("li.session.cancelled")).to_have_count(1)
    expect(page.locator("li.session.cancelled .badge")).to_have_text("Cancelled")
    shown_days = [_local_day(t.get_attribute("datetime")) for t in sessions.locator("time").all()]
    assert shown_days == [saturdays[0], moved, *saturdays[2:]]
    assert (
        _local_day(page.locator("li.session.cancelled time").get_attribute("datetime"))
        == saturdays[2]
    )
    screenshot(page, "group-after-changes-desktop-en")

    # The organizer's other pages, for the screenshots (and their console).
    page.get_by_role("link", name="Roles", exact=True).click()
    expect(page.locator("h1")).to_have_text("Roles")
    screenshot(page, "roles-desktop-en")
    page.locator(".crumbs a").click()
    page.get_by_role("link", name="Members", exact=True).click()
    expect(page.locator("h1")).to_have_text("Members")
    expect(page.locator("tbody tr")).to_have_count(2)
    screenshot(page, "members-desktop-en")
    page.locator("header.site").get_by_role("link", name="Organize").click()
    expect(page.locator("tr.cancelled")).to_have_count(1)
    screenshot(page, "organize-desktop-en")

    # Log out with the header's form (a POST with its CSRF token).
    page.locator("header.site").get_by_role("button", name="Log out").click()
    expect(page.locator(".flash")).to_have_text("You are logged out, on all your devices.")
    expect(page.locator("header.site").get_by_role("link", name="Log in")).to_be_visible()
    context.close()
    assert problems.found == []

    # A member, in a browser that asks for Japanese, sees the sessions on the home page.
    context, problems = new_context("ja-JP", DESKTOP)
    page = context.new_page()
    _log_in(page, base, seeded.member_email)
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h2").first).to_have_text("今後の開催回")
    sessions = page.locator("ul.sessions li.session")
    expect(sessions).to_have_count(6)
    expected = [saturdays[0], moved, *saturdays[2:]]
    for item, day in zip(sessions.all(), expected, strict=True):
        expect(item.locator("time")).to_contain_text(_japanese(day))
        expect(item.locator("time")).to_contain_text("10:00–12:00")
    expect(sessions.nth(1).locator("time")).to_contain_text("日(日)")
    for n in (0, 2, 3, 4, 5):
        expect(sessions.nth(n).locator("time")).to_contain_text("日(土)")
    expect(sessions.nth(2)).to_have_class(re.compile(r"\bcancelled\b"))
    expect(sessions.nth(2).locator(".badge.cancelled")).to_have_text("中止")
    expect(page.locator("li.session .badge.cancelled")).to_have_count(1)
    screenshot(page, "home-desktop-ja")

    sessions.nth(2).get_by_role("link").click()
    expect(page.locator("h1 .badge.cancelled")).to_have_text("中止")
    expect(page.get_by_role("button", name="この開催回を中止")).to_have_count(0)
    screenshot(page, "session-cancelled-desktop-ja")
    page.locator(".crumbs a").click()
    expect(page.locator("li.session.cancelled")).to_have_count(1)
    screenshot(page, "group-desktop-ja")
    context.close()
    assert problems.found == []


@pytest.mark.parametrize("locale", ["en-US", "ja-JP"])
def test_phone_pages_fit_the_screen(live, new_context, screenshot, locale):
    from playwright.sync_api import expect

    seeded = _seed(live.app, sessions=3)
    base = live.url
    lang = locale[:2]
    context, problems = new_context(locale, PHONE)
    page = context.new_page()
    _log_in(page, base, seeded.organizer_email)
    expect(page).to_have_url(f"{base}/")

    page.goto(f"{base}/g/{seeded.slug}")
    expect(page.locator("li.session")).to_have_count(3)
    expect(page.locator("li.session.cancelled")).to_have_count(1)
    width, viewport = _no_horizontal_scroll(page)
    screenshot(page, f"group-phone-{lang}")
    assert width <= viewport, f"the group page scrolls sideways: {width}px in {viewport}px"

    page.goto(f"{base}/g/{seeded.slug}/series/new")
    page.locator("input[name=title]").fill("Python mokumoku")
    page.locator("input[name=first_day]").fill(_first_of_next_month().isoformat())
    page.locator("input[name=start_time]").fill("10:00")
    page.locator("input[name=end_time]").fill("12:00")
    page.locator("input[name=preview]").click()
    expect(page.locator("ol.dates li")).to_have_count(6)
    width, viewport = _no_horizontal_scroll(page)
    screenshot(page, f"series-preview-phone-{lang}")
    assert width <= viewport, f"the series form scrolls sideways: {width}px in {viewport}px"

    # The other pages, for a person to look at.
    page.goto(f"{base}/")
    screenshot(page, f"home-phone-{lang}")
    page.goto(f"{base}/organize")
    screenshot(page, f"organize-phone-{lang}")
    page.goto(f"{base}/g/{seeded.slug}/members")
    screenshot(page, f"members-phone-{lang}")
    page.goto(f"{base}/g/{seeded.slug}/roles")
    screenshot(page, f"roles-phone-{lang}")
    page.goto(f"{base}/g/{seeded.slug}")
    page.locator("li.session a").first.click()
    screenshot(page, f"session-phone-{lang}")
    page.locator(".actions a.button").first.click()
    screenshot(page, f"session-edit-phone-{lang}")
    context.close()
    assert problems.found == []


def test_new_users_create_a_group_add_a_role_and_a_member_joins(live, new_context, screenshot):
    """From nothing, as new people would: register, start a group, add a role, post one
    session with it; a second person registers in Japanese, joins, and sees the session."""
    from playwright.sync_api import expect

    base = live.url
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/")
    page.locator("main").get_by_role("link", name="Create account").click()
    page.get_by_label("Display name").fill("Mika Organizer")
    page.get_by_label("Email").fill("mika@example.com")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".field.invalid .error")).to_have_text("Use at least 8 characters.")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".flash")).to_contain_text("Welcome, Mika Organizer!")

    page.get_by_role("link", name="Start a group").first.click()
    page.get_by_label("Group name").fill("Sapporo Go Meetup")
    page.get_by_label("Address").fill("sapporo-go")
    page.get_by_label("Usual venue").fill("札幌市民交流プラザ")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    page.get_by_role("button", name="Create the group").click()
    expect(page).to_have_url(f"{base}/g/sapporo-go")

    page.get_by_role("link", name="Roles", exact=True).click()
    add = page.locator("section.panel form")
    add.get_by_label("Role name").fill("配信 Streaming")
    add.get_by_label("People needed").fill("1")
    add.get_by_label("Starts (minutes)").fill("-15")
    page.get_by_role("button", name="Add the role").click()
    expect(page.locator("tbody tr")).to_have_count(4)
    expect(page.locator("tbody")).to_contain_text("配信 Streaming")
    screenshot(page, "roles-after-add-desktop-en")

    page.locator(".crumbs a").click()
    page.get_by_role("link", name="Post one session").click()
    page.get_by_label("Title").fill("Go 1.30 release party")
    day = _first_of_next_month() + timedelta(days=9)
    page.get_by_label("Date").fill(day.isoformat())
    page.get_by_label("Starts").fill("19:00")
    page.get_by_label("Ends").fill("21:00")
    page.get_by_role("button", name="Post the session").click()
    expect(page.locator("h1")).to_have_text("Go 1.30 release party")
    expect(page.locator("ul.roles")).to_contain_text("配信 Streaming")
    expect(page.locator("ul.roles")).to_contain_text("18:45–21:00")
    page.locator("header.site").get_by_role("button", name="Log out").click()
    context.close()
    assert problems.found == []

    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    page.goto(f"{base}/register")
    page.get_by_label("表示名").fill("山田 太郎")
    page.get_by_label("メールアドレス").fill("taro@example.com")
    page.get_by_label("パスワード").fill("password123")
    page.get_by_role("button", name="アカウント作成").click()
    expect(page.locator(".field.invalid .error")).to_contain_text("特によく使われています")
    page.get_by_label("パスワード").fill("yama-taro-2027-study")
    page.get_by_role("button", name="アカウント作成").click()
    page.goto(f"{base}/groups")
    page.get_by_role("link", name="Sapporo Go Meetup").click()
    page.get_by_role("button", name="このグループに参加").click()
    expect(page.locator(".flash")).to_contain_text("Sapporo Go Meetup")
    page.goto(f"{base}/")
    expect(page.locator("li.session")).to_have_count(1)
    expect(page.locator("li.session time")).to_contain_text(_japanese(day))
    expect(page.locator("li.session time")).to_contain_text("19:00–21:00")
    screenshot(page, "home-after-join-phone-ja")
    context.close()
    assert problems.found == []
