"""/profile/tokens on a 390 px phone in Japanese: make a token, copy it, revoke it (issue 14).
Headless Chromium through Playwright.

Screenshots go to test-artifacts/screenshots/apitokens-*.png for a person to look at.
"""

import re

import pytest

from tests import test_browser as shared
from tests.test_browser import _log_in, _no_horizontal_scroll, _seed

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_390 = {"width": 390, "height": 844}


def _fits(page, what: str) -> None:
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"{what} scrolls sideways: {width}px in {viewport}px"


def test_a_member_makes_copies_and_revokes_a_token_on_a_phone_in_japanese(
    live, new_context, screenshot
):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url
    context, problems = new_context("ja-JP", PHONE_390)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    _log_in(page, base, seeded.organizer_email)

    page.goto(f"{base}/profile")
    page.get_by_role("link", name="API トークン").click()
    expect(page.locator("h1")).to_have_text("API トークン")
    expect(page.get_by_text("API トークンはまだありません。")).to_be_visible()
    page.get_by_label("名前").fill("カレンダー用スクリプト")
    page.get_by_label("書き込み：", exact=False).check()
    page.get_by_label("運営：", exact=False).check()  # an organizer is offered organize
    page.get_by_label("30日後").check()
    page.get_by_role("button", name="トークンを作成").click()

    field = page.locator("#new-token")
    raw = field.input_value()
    assert re.fullmatch(r"sg_[A-Za-z0-9_-]{43}", raw)
    expect(page.get_by_text("このトークンは二度と表示されません。", exact=False)).to_be_visible()
    button = page.locator("button[data-copy=new-token]")
    button.click()
    expect(button).to_have_text("コピーしました")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    row = page.locator("table.tokens tbody tr").first
    expect(row).to_contain_text("カレンダー用スクリプト")
    expect(row).to_contain_text(f"{raw[:12]}…")
    expect(row).to_contain_text("読み取り")
    expect(row).to_contain_text("まだ使われていません")
    _fits(page, "the tokens page")
    assert button.bounding_box()["x"] + button.bounding_box()["width"] <= PHONE_390["width"]
    screenshot(page, "apitokens-made-390-ja")

    page.goto(f"{base}/profile/tokens")  # the token is not shown again
    expect(page.locator("#new-token")).to_have_count(0)
    expect(page.locator("table.tokens tbody tr")).to_have_count(1)
    page.get_by_role("link", name="無効にする…").click()
    expect(page.locator("h1")).to_have_text("「カレンダー用スクリプト」を無効にしますか？")
    _fits(page, "the revoke page")
    screenshot(page, "apitokens-revoke-390-ja")
    page.get_by_role("button", name="トークンを無効にする").click()
    expect(page.get_by_text("トークン「カレンダー用スクリプト」を無効にしました。")).to_be_visible()
    expect(page.locator("table.tokens tbody tr").first).to_contain_text("無効化")
    _fits(page, "the tokens page after revoking")
    screenshot(page, "apitokens-revoked-390-ja")
    assert problems.found == []
