"""The invitation link on the members page copies with one button, as the calendar URL does,
and fits a 360 px phone (trial of issue 9, T21). Headless Chromium through Playwright.

Screenshots go to test-artifacts/screenshots/invitation-*.png for a person to look at.
"""

import pytest

from tests import test_browser as shared
from tests.test_browser import _log_in, _no_horizontal_scroll, _seed

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_360 = {"width": 360, "height": 780}


@pytest.mark.parametrize(
    "locale, copy, copied", [("ja-JP", "コピー", "コピーしました"), ("en-US", "Copy", "Copied")]
)
def test_the_invitation_link_copies_with_one_button(
    live, new_context, screenshot, locale, copy, copied
):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url
    context, problems = new_context(locale, PHONE_360)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    _log_in(page, base, seeded.organizer_email)
    page.goto(f"{base}/g/{seeded.slug}/members")
    field = page.locator("#invitation-url")
    link = field.input_value()
    assert link.startswith(f"{base}/g/{seeded.slug}/invite/")
    button = page.locator("button[data-copy=invitation-url]")
    expect(button).to_have_text(copy)
    button.click()
    expect(button).to_have_text(copied)
    assert page.evaluate("navigator.clipboard.readText()") == link
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"the members page scrolls sideways: {width}px in {viewport}px"
    assert button.bounding_box()["x"] + button.bounding_box()["width"] <= viewport
    screenshot(page, f"invitation-copied-360-{locale[:2]}")
    assert problems.found == []
