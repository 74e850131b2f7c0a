"""The new-group form in a real browser: the help text reads /g/<address>, and typing a
Japanese name fills in a romanised address (static/address.js asks the server), never over
one the organizer typed. Screenshot: test-artifacts/screenshots/group-address-phone-ja.png."""

import pytest

from studygroup.extensions import db
from tests import factories
from tests import test_browser as shared
from tests.test_browser import _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot


def test_the_address_is_suggested_from_a_japanese_name(live, new_context, screenshot):
    from playwright.sync_api import expect

    with live.app.app_context():
        factories.Factories(db.session).user("organizer@example.com", display_name="佐藤 美咲")
        db.session.remove()
    context, problems = new_context("ja-JP", {"width": 360, "height": 800})
    page = context.new_page()
    _log_in(page, live.url, "organizer@example.com")
    expect(page).to_have_url(f"{live.url}/")
    page.goto(f"{live.url}/groups/new")
    address = page.locator("input[name=slug]")
    expect(page.locator("#slug-help .help")).to_contain_text(
        "ページのアドレスは /g/<アドレス> になります"
    )

    page.locator("input[name=name]").press_sequentially("渋谷Python勉強会", delay=20)
    expect(address).to_have_value("shibuya-python-benkyokai", timeout=10000)
    width, inner = _no_horizontal_scroll(page)
    assert width <= inner
    screenshot(page, "group-address-phone-ja")

    # An address the organizer types stays, whatever the name becomes.
    address.fill("shibuya-py")
    page.locator("input[name=name]").press_sequentially(" 月例会", delay=20)
    page.wait_for_timeout(800)
    expect(address).to_have_value("shibuya-py")
    page.get_by_role("button", name="グループを作成").click()
    expect(page).to_have_url(f"{live.url}/g/shibuya-py")
    context.close()
    assert problems.found == []
