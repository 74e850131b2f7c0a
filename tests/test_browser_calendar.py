"""Calendar subscriptions end to end in a real browser (Debian's Chromium through Playwright).

A member (Japanese, on a phone) finds "subscribe" on My schedule, copies the URL with the copy
button, and a calendar client (here: an HTTP request plus vobject, not the library that wrote
the feed) reads her reception place. The organizer moves the session in the browser: the
client's next poll with its ETag gets the new time with a higher SEQUENCE. The organizer
cancels it: the group feed marks it cancelled.

Screenshots go to test-artifacts/screenshots/calendar-*.png for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import vobject

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests.factories import slots_of
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

TITLE = "Pythonもくもく会 第12回"


@dataclass(frozen=True)
class Seeded:
    organizer: str
    member: str
    slug: str
    session_id: int


def _seed(app) -> Seeded:
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato", locale="en")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        member = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        setup_crew = make.member(group, make.user(display_name="Ken Ito"))
        day = datetime.now(TOKYO).date() + timedelta(days=21)
        session = make.session(group, day=day, title=TITLE)
        slots = slots_of(session)
        now = datetime.now(UTC)
        assign(db.session, organizer=organizer, member=member, slot=slots["reception"], now=now)
        assign(db.session, organizer=organizer, member=setup_crew, slot=slots["setup"], now=now)
        db.session.commit()
        seeded = Seeded(organizer.email, member.email, group.slug, session.id)
        db.session.remove()
    return seeded


def _read(response):
    vobject.icalendar.__dict__["__tzidMap"].clear()  # each calendar read on its own
    assert response.status == 200, response.status
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    return vobject.readOne(response.text())


def test_member_subscribes_and_the_feed_follows_edits(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url

    # The member, on a phone in Japanese, finds the subscribe box on My schedule.
    context, problems = new_context("ja-JP", PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    _log_in(page, base, seeded.member)
    page.goto(f"{base}/schedule")
    box = page.locator("section#calendar")
    expect(box.locator("h2")).to_have_text("自分の担当のカレンダー配信")
    subscribe = box.get_by_role("link", name="購読する")
    webcal = subscribe.get_attribute("href")
    assert webcal.startswith("webcal://127.0.0.1:") and "/calendar/member/" in webcal
    google = box.get_by_role("link", name="Googleカレンダーに追加").get_attribute("href")
    assert google.startswith("https://calendar.google.com/calendar/render?cid=webcal%3A%2F%2F")
    expect(box).to_contain_text("数時間おき")
    url = box.locator("input.copy").input_value()
    assert url == "http" + webcal.removeprefix("webcal")
    copy = box.get_by_role("button", name="コピー")
    copy.click()
    expect(copy).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") == url
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"My schedule scrolls sideways: {width}px in {viewport}px"
    screenshot(page, "calendar-schedule-phone-ja")

    # A calendar client subscribes: the reception place at its own time, with who else works.
    first = page.request.get(url)
    (event,) = _read(first).contents["vevent"]
    assert event.summary.value == f"受付: {TITLE}"
    assert event.dtstart.value.strftime("%H:%M") == "09:30"
    assert event.sequence.value == "0"
    assert "Ken Itoさん（設営）" in event.description.value
    etag = first.headers["etag"]
    assert page.request.get(url, headers={"If-None-Match": etag}).status == 304

    # The organizer moves the session to the afternoon in the browser.
    org_context, org_problems = new_context("en-US", DESKTOP)
    org = org_context.new_page()
    _log_in(org, base, seeded.organizer)
    org.goto(f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}/edit")
    form = org.locator("main form.stack")
    form.locator("input[name=start_time]").fill("13:00")
    form.locator("input[name=end_time]").fill("15:00")
    form.get_by_role("button", name="Save the session").click()
    expect(org).to_have_url(f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}")

    # The client's next poll with its ETag gets the new time, SEQUENCE raised, same UID.
    moved = page.request.get(url, headers={"If-None-Match": etag})
    (after,) = _read(moved).contents["vevent"]
    assert after.uid.value == event.uid.value
    assert after.dtstart.value.strftime("%H:%M") == "12:30"
    assert int(after.sequence.value) > 0

    # The group page offers the public feed; after a cancel it shows the session cancelled.
    org.goto(f"{base}/g/{seeded.slug}")
    group_url = org.locator("section#calendar input.copy").input_value()
    assert group_url.startswith(f"{base}/g/{seeded.slug}/calendar.ics")
    screenshot(org, "calendar-group-desktop-en")
    org.goto(f"{base}/g/{seeded.slug}/sessions/{seeded.session_id}")
    org.get_by_role("button", name="Cancel this session").click()
    expect(org.locator("h1 .badge.cancelled")).to_be_visible()
    (cancelled,) = _read(page.request.get(group_url)).contents["vevent"]
    assert cancelled.status.value == "CANCELLED"
    assert cancelled.summary.value == f"[Cancelled] {TITLE}"
    (japanese,) = _read(page.request.get(group_url.replace("lang=en", "lang=ja"))).contents[
        "vevent"
    ]
    assert japanese.summary.value == f"【中止】{TITLE}"

    assert problems.found == [] and org_problems.found == []
