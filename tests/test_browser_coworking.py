"""Co-working history end to end in a real browser (Debian's Chromium through Playwright),
with CSRF on.

Member A did setup with B and C at six past monthly sessions; D gave a talk once, after setup
had ended; E, who chose "only me" and not to appear by name, did reception next to A twice; F
worked with A once two years ago; G was marked a no-show. A reads the page (English, desktop),
B reads A's page in Japanese on a phone and makes their own page private, and the organizer
looks at the group's picture.

Screenshots go to test-artifacts/screenshots/coworking-*.png for a person to look at.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest

from studygroup.auth.models import CoworkersVisibility
from studygroup.extensions import db
from studygroup.signups.models import Attendance
from studygroup.signups.organizing import assign, confirm_attendance, set_attendance
from tests import factories
from tests import test_browser as shared
from tests.factories import slots_of
from tests.test_browser import DESKTOP, PHONE, SATURDAY, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

# test_browser's fixtures, by name: Chromium for the module, the live server (CSRF on) whose
# tables are emptied after each test, contexts that collect console errors, CSP violations
# and failed responses, and full-page screenshots.
browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

GROUP = "Tokyo Python Study"
SLUG = "tokyo-python"
A, B, C, D, E, F, G = (
    "Ken Ito",
    "山田 花子",
    "Chris Lee",
    "Dana Kim",
    "Emi Hidden",
    "Fumi Ono",
    "Gen Absent",
)


# --- seeding ------------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    organizer: str
    emails: dict[str, str]  # name -> email
    ids: dict[str, int]  # name -> user id
    monthly: list[date]  # the six monthly sessions, oldest first (Asia/Tokyo days)
    titles: list[str]
    old_day: date  # F's one session with A, two years ago


def _third_saturday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(SATURDAY - first.weekday()) % 7 + 14)


def _months_before(today: date, n: int) -> tuple[int, int]:
    months = today.year * 12 + today.month - 1 - n
    return months // 12, months % 12 + 1


def _seed(app) -> History:
    """The group (Asia/Tokyo, public) and its co-working history, made with the app's own
    services: the organizer assigns people, marks a no-show and confirms attendance.

    Roles (the defaults, sessions 10:00-12:00): setup 9:00-10:00, reception 9:30-10:30
    (overlaps setup), speaker 10:00-12:00 (starts as setup ends: no overlap).
    """
    today = datetime.now(TOKYO).date()
    monthly = [_third_saturday(*_months_before(today, n)) for n in range(6, 0, -1)]
    old_day = _third_saturday(today.year - 2, today.month)
    titles = [f"Python mokumoku #{n}" for n in range(1, 7)]
    now = datetime.now(UTC)
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name=GROUP, slug=SLUG)
        people = {
            name: make.member(
                group,
                make.user(
                    f"member-{letter}@example.com",
                    display_name=name,
                    locale="ja" if name == B else "en",
                ),
            )
            for letter, name in zip("abcdefg", (A, B, C, D, E, F, G), strict=True)
        }
        people[E].coworkers_visibility = CoworkersVisibility.ONLY_ME
        people[E].appear_by_name = False

        def put(name, slot):
            return assign(
                db.session, organizer=organizer, member=people[name], slot=slot, now=now
            ).place

        for n, (day, title) in enumerate(zip(monthly, titles, strict=True)):
            session = make.session(group, day=day, start=time(10), end=time(12), title=title)
            roles = slots_of(session)
            for name in (A, B, C):
                put(name, roles["setup"])
            if n in (1, 4):
                put(E, roles["reception"])
            if n == 3:
                set_attendance(
                    db.session,
                    organizer=organizer,
                    place=put(D, roles["speaker"]),
                    attendance=Attendance.WORKED,
                    now=now,
                )
            if n == 5:  # not confirmed yet: the places count, except the no-show's
                set_attendance(
                    db.session,
                    organizer=organizer,
                    place=put(G, roles["reception"]),
                    attendance=Attendance.NO_SHOW,
                    now=now,
                )
            if n < 4:
                confirm_attendance(db.session, organizer=organizer, session=session, now=now)
        old = make.session(group, day=old_day, title="Python mokumoku #0")
        put(A, slots_of(old)["setup"])
        put(F, slots_of(old)["setup"])
        db.session.commit()
        history = History(
            organizer=organizer.email,
            emails={name: user.email for name, user in people.items()},
            ids={name: user.id for name, user in people.items()},
            monthly=monthly,
            titles=titles,
            old_day=old_day,
        )
        db.session.remove()
    return history


# --- helpers ------------------------------------------------------------------------------


def _fits_the_phone(page, what: str):
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"{what} scrolls sideways: {width}px in {viewport}px"


def _line_widths(page) -> dict[str, float]:
    """The picture's line to each co-worker, by the label nearest the co-worker's circle.

    A line ends at its co-worker's circle; the label is drawn just outside that circle."""
    figure = page.locator("figure.network svg")
    lines = figure.locator("line").evaluate_all(
        "ls => ls.map(l => [+l.getAttribute('x2'), +l.getAttribute('y2'),"
        " +l.getAttribute('stroke-width')])"
    )
    labels = figure.locator("text").evaluate_all(
        "ts => ts.map(t => [+t.getAttribute('x'), +t.getAttribute('y'), t.textContent])"
    )
    widths = {}
    for x2, y2, width in lines:
        nearest = min(labels, key=lambda t: (t[0] - x2) ** 2 + (t[1] - y2) ** 2)
        if (nearest[0] - x2) ** 2 + (nearest[1] - y2) ** 2 <= 20**2:
            widths[nearest[2]] = width
    assert len(widths) == len(lines), f"lines without a label: {lines} {labels}"
    return widths


def _sessions(n: int, side_by_side: int) -> str:
    return f"{n} session{'' if n == 1 else 's'}, {side_by_side} side by side"


def _names(page) -> list[str]:
    return [text.strip() for text in page.locator("ol.coworkers li strong").all_inner_texts()]


def _deliberate_404(problems, url: str):
    """Take out the one expected 404 (and Chromium's console line about it); the rest stays
    for the final `problems.found == []`."""
    expected = [
        f"HTTP 404: GET {url}",
        f"console error: Failed to load resource: the server responded with a status of 404 "
        f"(NOT FOUND) ({url})",
    ]
    assert problems.found.count(expected[0]) == 1, problems.found
    problems.found[:] = [found for found in problems.found if found not in expected]


# --- tests --------------------------------------------------------------------------------


def test_coworkers_page_filters_sessions_together_csv_and_privacy(live, new_context, screenshot):
    from playwright.sync_api import expect

    history = _seed(live.app)
    base = live.url
    ids = history.ids
    a_page = f"{base}/people/{ids[A]}/coworkers"

    # A, in English on a desktop, opens "Co-worked with" (/coworkers: their own page).
    a_context, a_problems = new_context("en-US", DESKTOP)
    a = a_context.new_page()
    _log_in(a, base, history.emails[A])
    expect(a).to_have_url(f"{base}/")
    a.locator("header.site").get_by_role("link", name="Co-worked with").click()
    expect(a).to_have_url(a_page)
    expect(a.locator("html")).to_have_attribute("lang", "en")
    expect(a.locator("h1")).to_have_text("People you've co-worked with")

    rows = a.locator("ol.coworkers > li")
    expect(rows).to_have_count(5)  # B, C, E, D, F; G was a no-show
    assert set(_names(a)[:2]) == {B, C}
    for n in (0, 1):
        expect(rows.nth(n)).to_contain_text("6 sessions, 6 side by side")
        expect(rows.nth(n)).to_contain_text("Setup ×6")
        expect(rows.nth(n).get_by_role("link")).to_have_count(1)
    hidden = rows.filter(has_text="a member")
    expect(hidden).to_have_count(1)
    expect(hidden.locator("strong.muted")).to_have_text("a member")
    expect(hidden.locator("a")).to_have_count(0)
    expect(hidden).to_contain_text("2 sessions, 2 side by side")
    expect(a.locator("main")).not_to_contain_text(E)
    dana = rows.filter(has_text=D)
    expect(dana).to_contain_text("1 session")
    expect(dana).not_to_contain_text("side by side")  # none: left out rather than "0"
    expect(dana).not_to_contain_text("×")  # no role shared with A
    expect(rows.filter(has_text=G)).to_have_count(0)

    # The picture: a line per co-worker, thicker for more sessions together.
    picture = a.locator("figure.network svg")
    expect(picture).to_have_attribute("role", "img")
    expect(picture.locator("#network-title")).to_have_text(f"{A} in the middle, 5 people around")
    expect(picture.locator("line")).to_have_count(5)
    widths = _line_widths(a)
    assert set(widths) == {B, C, D, F, "a member"}, widths
    assert widths[B] == widths[C] > widths["a member"] > widths[D] == widths[F], widths

    # "What counts": closed at first, opened with a click.
    definitions = a.locator("details.definitions")
    expect(definitions.locator("p").first).to_be_hidden()
    definitions.locator("summary").click()
    expect(definitions).to_have_attribute("open", "")
    expect(definitions.locator("p").first).to_be_visible()
    expect(definitions).to_contain_text("Waitlist places, cancelled places and cancelled")
    expect(definitions).to_contain_text("They worked side by side when")
    screenshot(a, "coworking-desktop-en")

    # The year filter: two years ago, only F.
    a.get_by_label("Year").select_option(str(history.old_day.year))
    a.get_by_role("button", name="Show").click()
    expect(a).to_have_url(re.compile(rf"[?&]year={history.old_day.year}\b"))
    expect(a.get_by_label("Year")).to_have_value(str(history.old_day.year))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"{F}")
    expect(rows.first).to_contain_text("1 session, 1 side by side")
    expect(picture.locator("line")).to_have_count(1)
    # The monthly sessions' year (the latest one's; more than one year when they straddle).
    year = history.monthly[-1].year
    in_year = sum(day.year == year for day in history.monthly)
    a.get_by_label("Year").select_option(str(year))
    a.get_by_role("button", name="Show").click()
    expect(a.get_by_label("Year")).to_have_value(str(year))
    expect(rows.filter(has_text=B)).to_contain_text(_sessions(in_year, in_year))
    expect(rows.filter(has_text=F)).to_have_count(0)

    # Order by name, all years: named people alphabetically, "a member" last.
    a.get_by_label("Year").select_option("")
    a.get_by_label("Order").select_option("name")
    a.get_by_role("button", name="Show").click()
    expect(a).to_have_url(re.compile(r"[?&]order=name\b"))
    expect(a.get_by_label("Order")).to_have_value("name")
    expect(rows).to_have_count(5)
    assert _names(a) == sorted([B, C, D, F], key=str.casefold) + ["a member"]
    screenshot(a, "coworking-by-name-desktop-en")

    # The CSV, as the browser downloads it, and its headers as the server sends them.
    with a.expect_download() as download_info:
        a.get_by_role("link", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"coworkers-{ids[A]}.csv"
    exported = list(csv.reader(io.StringIO(download.path().read_text(encoding="utf-8-sig"))))
    assert exported[0] == [
        "Name",
        "Sessions together",
        "Of those, side by side",
        "Roles shared",
        "First together",
        "Last together",
    ]
    by_name = {row[0]: row for row in exported[1:]}
    assert list(by_name) == sorted([B, C, D, F], key=str.casefold) + ["a member"]
    first, last = history.monthly[0].isoformat(), history.monthly[-1].isoformat()
    assert by_name[B] == [B, "6", "6", "Setup ×6", first, last]
    assert by_name[C] == [C, "6", "6", "Setup ×6", first, last]
    assert by_name["a member"][1:3] == ["2", "2"]
    csv_url = a.get_by_role("link", name="Download CSV").get_attribute("href")
    response = a_context.request.get(f"{base}{csv_url}")
    assert response.status == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == (
        f'attachment; filename="coworkers-{ids[A]}.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.body().startswith("\ufeff".encode())

    # B's name leads to the sessions together: six, each side by side, newest first.
    a.get_by_role("link", name=B).click()
    expect(a).to_have_url(re.compile(rf"/people/{ids[A]}/coworkers/{ids[B]}\b"))
    expect(a.locator("h1")).to_have_text(f"Sessions with {B}")
    expect(a.locator("main > p").nth(1)).to_have_text("6 sessions, 6 side by side")
    sessions = a.locator("ul.sessions li.session")
    expect(sessions).to_have_count(6)
    expect(sessions.locator("strong")).to_have_text(list(reversed(history.titles)))
    expect(sessions.locator(".badge")).to_have_text(["side by side"] * 6)
    expect(sessions.first).to_contain_text(f"{A}: Setup · {B}: Setup")
    expect(sessions.first).to_contain_text(GROUP)
    screenshot(a, "coworking-together-desktop-en")

    # B, in Japanese on a phone, opens A's page by its address: they share the group.
    b_context, b_problems = new_context("ja-JP", PHONE)
    b = b_context.new_page()
    _log_in(b, base, history.emails[B])
    expect(b).to_have_url(f"{base}/")
    b.goto(a_page)
    expect(b.locator("html")).to_have_attribute("lang", "ja")
    expect(b.locator("h1")).to_have_text(f"{A}さんと一緒に活動した人")
    expect(b.locator("details.definitions summary")).to_have_text("数え方")
    expect(b.get_by_label("年")).to_be_visible()
    expect(b.get_by_label("並び順")).to_be_visible()
    rows_ja = b.locator("ol.coworkers > li")
    expect(rows_ja).to_have_count(5)
    for name in (B, C):
        row = rows_ja.filter(has_text=name)
        expect(row).to_contain_text("6回、うち同じ役割・時間帯で6回")
        expect(row).to_contain_text("設営 ×6")
    expect(rows_ja.filter(has_text="あるメンバー")).to_have_count(1)
    expect(rows_ja.filter(has_text="あるメンバー").locator("a")).to_have_count(0)
    expect(b.locator("figure.network figcaption")).to_have_text(
        "線が太いほど、一緒に活動した回数が多いことを表します。"
    )
    expect(b.get_by_role("link", name="CSVをダウンロード")).to_be_visible()
    expect(b.locator("section.panel", has_text="プライバシー")).to_have_count(0)  # A's choice
    _fits_the_phone(b, "A's co-workers page")
    screenshot(b, "coworking-phone-ja")

    # E chose "only me": for B, E's page does not exist.
    e_page = f"{base}/people/{ids[E]}/coworkers"
    response = b.goto(e_page)
    assert response.status == 404
    expect(b.locator("h1")).to_have_text("ページが見つかりません")
    expect(b.locator("main")).not_to_contain_text(E)
    _fits_the_phone(b, "the 404 page")
    screenshot(b, "coworking-404-phone-ja")
    _deliberate_404(b_problems, e_page)

    # B makes their own page private with the form on /coworkers.
    b.goto(f"{base}/coworkers")
    expect(b).to_have_url(f"{base}/people/{ids[B]}/coworkers")
    expect(b.locator("h1")).to_have_text("一緒に活動した人")
    privacy = b.locator("section.panel", has=b.locator("h2", has_text="プライバシー"))
    expect(privacy.get_by_label("同じグループのメンバー", exact=True)).to_be_checked()
    expect(privacy.get_by_label("他のメンバーのページに自分の名前を表示する")).to_be_checked()
    _fits_the_phone(b, "B's own co-workers page")
    privacy.get_by_label("自分のみ").check()
    privacy.get_by_role("button", name="保存").click()
    expect(b.locator(".flash")).to_have_text("設定を保存しました。")
    privacy = b.locator("section.panel", has=b.locator("h2", has_text="プライバシー"))
    expect(privacy.get_by_label("自分のみ")).to_be_checked()
    expect(privacy.get_by_label("他のメンバーのページに自分の名前を表示する")).to_be_checked()
    _fits_the_phone(b, "B's own co-workers page")
    screenshot(b, "coworking-privacy-saved-phone-ja")
    b_context.close()
    assert b_problems.found == []

    # Now A cannot open B's page: it does not exist for them.
    b_page = f"{base}/people/{ids[B]}/coworkers"
    response = a.goto(b_page)
    assert response.status == 404
    expect(a.locator("h1")).to_have_text("Page not found")
    _deliberate_404(a_problems, b_page)
    # B still appears by name on A's page: "only me" is about B's own page.
    a.goto(a_page)
    expect(a.locator("ol.coworkers").get_by_role("link", name=B)).to_be_visible()
    a_context.close()
    assert a_problems.found == []


def test_organizer_sees_who_works_with_whom(live, new_context, screenshot):
    from playwright.sync_api import expect

    history = _seed(live.app)
    base = live.url
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, history.organizer)
    expect(page).to_have_url(f"{base}/")
    page.goto(f"{base}/g/{SLUG}")
    page.get_by_role("link", name="Who works with whom").click()
    expect(page).to_have_url(f"{base}/g/{SLUG}/network")
    expect(page.locator("h1")).to_have_text("Who works with whom")

    # The picture draws who worked side by side: A, B and C at setup (6 sessions), E at
    # reception next to them (2), F with A once. D spoke after setup had ended (no tie); G
    # was a no-show and the organizer never worked: neither is in the picture.
    picture = page.locator("figure.network svg.wide")
    expect(picture.locator("#network-title")).to_have_text(
        f"Members of {GROUP} and who worked side by side with whom"
    )
    expect(picture.locator("circle")).to_have_count(5)
    names = sorted(picture.locator("text").all_text_contents())
    assert names == sorted([A, B, C, E, F]), names
    expect(picture.locator("line")).to_have_count(7)
    widths = sorted(
        float(w)
        for w in picture.locator("line").evaluate_all(
            "ls => ls.map(l => l.getAttribute('stroke-width'))"
        )
    )
    assert widths[-3:] == [5.2] * 3 and widths[0] < widths[3] < widths[-1], widths
    expect(page.locator("main")).to_contain_text(
        "3 members have not worked side by side with anyone yet and are not in the picture."
    )

    pairs = page.locator("section", has=page.locator("h2", has_text="Pairs who worked")).locator(
        "ol li"
    )
    expect(pairs).to_have_count(10)
    expect(pairs.filter(has_text=f"{A} & {B} — 6 sessions, 6 side by side")).to_have_count(1)
    assert [text.rsplit("— ", 1)[1] for text in pairs.all_inner_texts()][:3] == [
        "6 sessions, 6 side by side"
    ] * 3

    few = page.locator("section", has=page.locator("h2", has_text="Worked with few others"))
    few_items = few.locator("li")
    expect(few_items.filter(has_text=D)).to_have_text(f"{D} — 0 people side by side, 1 session")
    expect(few_items.filter(has_text=F)).to_have_text(f"{F} — 1 person side by side, 1 session")
    expect(few_items.filter(has_text=G)).to_have_count(0)  # never worked: not "lonely" yet
    for busy in (A, B, C, E):
        expect(few_items.filter(has_text=busy)).to_have_count(0)
    screenshot(page, "coworking-network-desktop-en")

    page.set_viewport_size(PHONE)
    _fits_the_phone(page, "the network page")
    screenshot(page, "coworking-network-phone-en")
    context.close()
    assert problems.found == []
