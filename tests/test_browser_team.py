"""The suggested team in a real browser: an organizer sees the team with its reasons, swaps
one person and accepts (desktop, English); the same page on a 390 px phone in Japanese.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.groups.models import FillMode
from studygroup.signups.models import Availability
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as signups
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live

NAMES = ("Ken Ito", "Mika Mori", "Taro Kato", "Yui Ueda", "Hana Abe", "Jun Sato")


def _seed(app, *, locale: str):
    """A group whose setup and reception the organizers form, a session in 6 days, six
    members who can help. Returns (organizer email, slug, session id)."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato", locale=locale)
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        group.fill_mode = FillMode.FORMED
        today = datetime.now(TOKYO).date()
        session = make.session(
            group, day=today + timedelta(days=6), title="Pythonもくもく会 第12回"
        )
        for n, name in enumerate(NAMES):
            member = make.member(
                group, make.user(f"m{n}@example.com", display_name=name, locale=locale)
            )
            db.session.add(
                Availability(user_id=member.id, session_id=session.id, created_at=datetime.now(UTC))
            )
        db.session.commit()
        seeded = (organizer.email, group.slug, session.id)
        db.session.remove()
        return seeded


def test_an_organizer_swaps_one_person_and_accepts_the_team_on_a_desktop(
    live, new_context, screenshot, mailbox
):
    from playwright.sync_api import expect

    email, slug, session_id = _seed(live.app, locale="en")
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, live.url, email)
    page.goto(f"{live.url}/g/{slug}/sessions/{session_id}/staffing")
    page.get_by_role("link", name="Suggested team").first.click()
    expect(page.locator("h1")).to_contain_text("Suggested team")
    picks = page.locator(".team-picks > li")
    expect(picks).to_have_count(5)  # setup 3, reception 2
    screenshot(page, "team-desktop-en")

    first = picks.first
    out = first.locator(".name").inner_text()
    select = first.locator("select")
    replacement = select.locator("option").nth(1).inner_text()
    select.select_option(label=replacement)
    first.get_by_role("button", name="Swap").click()
    expect(page.locator(".flash").first).to_contain_text("Swapped")
    expect(page.locator(".team-picks").first).to_contain_text(replacement)
    expect(page.locator(".team-picks").first).to_contain_text("chosen by an organizer")
    expect(page.locator(".team-picks").first).not_to_contain_text(out)  # not there again

    page.get_by_role("button", name="Accept the team: 5 places").click()
    expect(page.locator(".flash").first).to_contain_text("Team accepted: 5 members got a place.")
    expect(page.locator("main")).to_contain_text(replacement)
    told = [m for m in mailbox.messages if m["Subject"].startswith("You are on the team:")]
    assert len(told) == 5
    assert problems.found == []


def test_the_team_page_fits_a_390_px_phone_in_japanese(live, new_context, screenshot):
    from playwright.sync_api import expect

    email, slug, session_id = _seed(live.app, locale="ja")
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, live.url, email)
    page.goto(f"{live.url}/g/{slug}/sessions/{session_id}/team")
    expect(page.locator("h1")).to_contain_text("おすすめの担当")
    expect(page.locator(".team-picks > li")).to_have_count(5)
    expect(page.get_by_role("button", name="この担当で決定する（5人分）")).to_be_visible()
    scroll_width, width = _no_horizontal_scroll(page)
    assert scroll_width <= width
    screenshot(page, "team-phone-ja")
    assert problems.found == []
