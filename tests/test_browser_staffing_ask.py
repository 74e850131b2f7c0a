"""Staffing asks first, in a real browser: assigning into a full role with people waiting, or
into a time that overlaps the member's other role, shows what is about to happen and saves
nothing until the organizer confirms (desktop in English, a 360 px phone in Japanese).

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import pytest

from tests import test_browser as shared
from tests import test_browser_organize as organize
from tests import test_browser_signups as signups
from tests.test_browser import DESKTOP, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live


def test_assigning_into_a_full_role_asks_first_on_a_desktop(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = organize._seed(live.app)
    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, live.url, seeded.organizer)
    staffing = f"{live.url}/g/{seeded.slug}/sessions/{seeded.soon_id}/staffing"
    page.goto(staffing)
    page.get_by_label("Role").select_option(label="Reception")
    page.get_by_label("Member").select_option(label="Ken Ito")
    page.get_by_role("button", name="Assign", exact=True).click()

    ask = page.locator("#ask")
    expect(ask).to_be_in_viewport()
    expect(ask.locator("strong")).to_have_text("Assign Ken Ito to Reception?")
    expect(ask.locator("li")).to_have_text(
        ["Reception is full (2/2)", "1 person waits on the waitlist: Yui Ueda"]
    )
    reception = page.locator(f"#slot-{seeded.reception_id}")
    expect(reception).not_to_contain_text("Ken Ito")  # nothing saved yet
    screenshot(page, "staffing-ask-assign-desktop-en")

    ask.get_by_role("button", name="Assign anyway").click()
    expect(page).to_have_url(staffing)
    expect(page.locator(".flash").first).to_contain_text("Ken Ito is assigned to Reception.")
    expect(reception.locator(".people").first).to_contain_text("Ken Ito")
    expect(page.locator("#ask")).to_have_count(0)
    assert problems.found == []


def test_an_overlap_asks_first_on_a_360_px_phone_in_japanese(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = organize._seed(live.app)
    context, problems = new_context("ja-JP", organize.NARROW_PHONE)
    page = context.new_page()
    _log_in(page, live.url, seeded.organizer)
    staffing = f"{live.url}/g/{seeded.slug}/sessions/{seeded.soon_id}/staffing"
    page.goto(staffing)
    page.get_by_label("役割").select_option(label="設営")
    mika = page.locator("#user_id option", has_text="Mika Mori").get_attribute("value")
    page.get_by_label("メンバー").select_option(mika)  # "Mika Mori · 設営を…" (done before)
    page.get_by_role("button", name="割り当てる", exact=True).click()

    ask = page.locator("#ask")
    expect(ask.locator("strong")).to_have_text("Mika Moriさんを設営に割り当てますか？")
    expect(ask.locator("li")).to_have_text(
        ["Mika Moriさんは時間の重なる受付（9:30–10:30）も担当しています"]
    )
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"the question scrolls sideways at 360 px: {width}px"
    screenshot(page, "staffing-ask-overlap-phone-360-ja")

    ask.get_by_role("link", name="変更しない").click()
    expect(page).to_have_url(staffing)
    expect(page.locator(f"#slot-{seeded.setup_id}")).not_to_contain_text("Mika Mori")
    assert problems.found == []
