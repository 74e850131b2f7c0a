"""The yearly list (年賀状リスト) in a real browser (Debian's Chromium through Playwright),
CSRF on: 31 people with long Japanese names worked with last year. The print view prints
as one A4 page in Japanese (header, menu and buttons left out); the list fits a 360 px phone
in Japanese and English; a "card sent" box saves as it is ticked and the count follows.

Screenshots and the PDF go to test-artifacts/ (git-ignored) for a person to look at.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime

import pytest

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.relationships.services import mark_cards, yearly_list
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests.factories import slots_of
from tests.test_browser import SCREENSHOTS, TOKYO, _log_in
from tests.test_browser_newcomers import GIVEN, PHONE_360, SURNAMES, _fits

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
live_server = shared.live_server
live = shared.live

PEOPLE = 31
MARKED = 12


@dataclass(frozen=True)
class Seeded:
    email: str
    name: str
    year: int


def _seed(app) -> Seeded:
    """Last year (Tokyo): eight monthly sessions, the member on setup with two others, two at
    reception and a speaker each time; 31 people in all, 12 of them marked "card sent"."""
    with app.app_context():
        now = utcnow()
        year = datetime.now(TOKYO).year - 1
        make = factories.Factories(db.session)
        member = make.user("member@example.com", display_name="佐藤 美咲 (Misaki Sato)")
        group = make.group(member, name="渋谷Python勉強会 (Shibuya.py)", slug="shibuya-py")
        names = [f"{s} {g} ({gr} {sr})" for s, sr in SURNAMES for g, gr in GIVEN]
        people = [make.member(group, make.user(display_name=n)) for n in names[:PEOPLE]]
        for s in range(8):
            session = make.session(group, day=date(year, s + 2, 14))
            slots = slots_of(session)
            crew = [people[(5 * s + k) % PEOPLE] for k in range(5)]
            places = [
                (member, "setup"),
                (crew[0], "setup"),
                (crew[1], "setup"),
                (crew[2], "reception"),
                (crew[3], "reception"),
                (crew[4], "speaker"),
            ]
            for person, key in places:
                assign(db.session, organizer=member, member=person, slot=slots[key], now=now)
        db.session.commit()
        the_list = yearly_list(db.session, member, year=year, now=now)
        assert len(the_list.named) == PEOPLE
        marked = {e.person.user_id for e in the_list.named[:MARKED]}
        mark_cards(db.session, member, the_list, sent=marked, now=now)
        db.session.commit()
        seeded = Seeded(member.email, member.display_name, year)
        db.session.remove()
    return seeded


def _pages(pdf: bytes) -> int:
    """Pages in a PDF Chromium wrote: its page objects (`/Type /Page`, not `/Pages`)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_the_print_view_is_one_a4_page_in_japanese(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    context, problems = new_context("ja-JP", {"width": 1280, "height": 800})
    page = context.new_page()
    _log_in(page, live.url, seeded.email)
    page.goto(f"{live.url}/coworkers/year/{seeded.year}")
    page.get_by_role("link", name="印刷用の表示").click()
    expect(page.locator("h1")).to_have_text(f"{seeded.year}年に一緒に活動した人（年賀状リスト）")
    expect(page.locator(".print-who")).to_contain_text(seeded.name)
    expect(page.locator(".print-who")).to_contain_text(f"{PEOPLE}人中{MARKED}人に送付済み")
    assert page.locator("table.yearly-print tbody tr").count() == PEOPLE

    page.emulate_media(media="print")
    for hidden in ("header.site", "footer.site", "main .no-print"):
        expect(page.locator(hidden)).to_be_hidden()
    screenshot(page, "yearly-print-ja")
    pdf = page.pdf(format="A4")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "yearly-print-ja.pdf").write_bytes(pdf)
    assert _pages(pdf) == 1
    assert problems.found == []


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_list_fits_a_phone_and_a_box_saves_as_it_is_ticked(
    live, new_context, screenshot, locale
):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    lang = locale[:2]
    context, problems = new_context(locale, PHONE_360)
    page = context.new_page()
    _log_in(page, live.url, seeded.email)
    # From the co-worker page, as a member finds it.
    page.goto(f"{live.url}/coworkers")
    page.locator("main a[href='/coworkers/year']").click()
    expect(page).to_have_url(re.compile(rf"/coworkers/year/{seeded.year}\b"))
    assert _fits(page, f"fit-yearly-list-360-{lang}", screenshot) is None

    count = {"ja": "{total}人中{sent}人に送付済み", "en": "{sent} of {total} cards sent"}[lang]
    counter = page.locator("[data-sent-count]")
    expect(counter).to_have_text(count.format(sent=MARKED, total=PEOPLE))
    expect(page.locator("[data-save]")).to_be_hidden()  # the script saves each box
    box = page.locator("input[name=sent]:not(:checked)").first
    person = box.get_attribute("value")
    box.check()
    expect(counter).to_have_text(count.format(sent=MARKED + 1, total=PEOPLE))
    page.reload()
    expect(page.locator(f"input[name=sent][value='{person}']")).to_be_checked()
    page.locator(f"input[name=sent][value='{person}']").uncheck()
    expect(counter).to_have_text(count.format(sent=MARKED, total=PEOPLE))
    page.reload()
    expect(page.locator(f"input[name=sent][value='{person}']")).not_to_be_checked()
    assert problems.found == []


def test_without_script_the_boxes_save_with_the_button(live, browser, screenshot):
    seeded = _seed(live.app)
    context = browser.new_context(locale="en-US", java_script_enabled=False)
    try:
        page = context.new_page()
        _log_in(page, live.url, seeded.email)
        page.goto(f"{live.url}/coworkers/year/{seeded.year}")
        boxes = page.locator("input[name=sent]")
        boxes.nth(0).uncheck()
        boxes.nth(PEOPLE - 1).check()
        page.get_by_role("button", name="Save marks").click()
        assert page.locator("[data-sent-count]").inner_text() == f"{MARKED} of {PEOPLE} cards sent"
        assert not page.locator("input[name=sent]").nth(0).is_checked()
        assert page.locator("input[name=sent]").nth(PEOPLE - 1).is_checked()
    finally:
        context.close()
