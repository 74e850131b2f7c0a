"""Who knows X? in a real browser: a member in Japanese, on a phone and on a desktop, types a
skill in katakana into the box on the home page and reads who knows it, nearest first."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.auth.services import parse_skills, set_skills
from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests.factories import slots_of
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in
from tests.test_browser_signups import _fits_the_phone

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
live_server = shared.live_server
live = shared.live


def _seed(app) -> str:
    """Hanako worked setup with Ken; Ken worked with Yui; Mio is only in the group."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        people = {
            name: make.member(
                group, make.user(f"{key}@example.com", display_name=name, locale="ja")
            )
            for key, name in (
                ("hanako", "山田 花子"),
                ("ken", "佐藤 健"),
                ("yui", "鈴木 結衣"),
                ("mio", "高橋 美緒"),
            )
        }
        now = datetime.now(UTC)
        for days, pair in ((3, ("山田 花子", "佐藤 健")), (10, ("佐藤 健", "鈴木 結衣"))):
            session = make.session(group, day=datetime.now(TOKYO).date() - timedelta(days=days))
            for name in pair:
                assign(
                    db.session,
                    organizer=organizer,
                    member=people[name],
                    slot=slots_of(session)["setup"],
                    now=now,
                )
        tags = {
            "佐藤 健": "Kubernetes, プログラミング",
            "鈴木 結衣": "プログラミング, 生産管理",
            "高橋 美緒": "ﾌﾟﾛｸﾞﾗﾐﾝｸﾞ入門, PLC",
        }
        for name, text in tags.items():
            set_skills(db.session, people[name], parse_skills(text))
        db.session.commit()
        db.session.remove()
    return "hanako@example.com"


@pytest.mark.parametrize(("name", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_who_knows_programming_in_japanese(live, new_context, screenshot, name, viewport):
    from playwright.sync_api import expect

    email = _seed(live.app)
    context, problems = new_context("ja-JP", viewport)
    page = context.new_page()
    _log_in(page, live.url, email)
    expect(page).to_have_url(f"{live.url}/")
    box = page.get_by_role("search")
    expect(box.locator("label")).to_contain_text("詳しい人を探す")
    box.get_by_role("searchbox").fill("ぷろぐらみんぐ")
    box.get_by_role("button", name="検索").click()
    expect(page.locator("h1")).to_have_text("詳しい人を探す")
    expect(page.locator("main")).to_contain_text("「ぷろぐらみんぐ」に一致する人: 3人")
    headings = page.locator("main h2")
    expect(headings).to_have_text(
        ["一緒に活動した人", "一緒に活動した人とつながりのある人", "同じグループのほかのメンバー"]
    )
    cards = page.locator("section.found li strong")
    expect(cards).to_have_text(["佐藤 健", "鈴木 結衣", "高橋 美緒"])
    expect(page.locator("main")).to_contain_text("佐藤 健さんがこの方と1回一緒に活動しています。")
    ask = page.get_by_role("link", name="佐藤 健さんに紹介をお願いする")
    expect(ask).to_have_count(1)
    if viewport is PHONE:
        _fits_the_phone(page, "the search page")
    screenshot(page, f"people-search-ja-{name}")
    # An empty search says what to type, next to the box.
    page.get_by_role("searchbox").first.fill(" ")
    page.get_by_role("button", name="検索").first.click()
    expect(page.locator("#q-error")).to_contain_text("探したいスキル・興味を入力してください")
    # One click from the search to asking Ken for an introduction to Yui.
    page.go_back()
    page.get_by_role("link", name="佐藤 健さんに紹介をお願いする").click()
    expect(page).to_have_url(re.compile(r"/introductions/ask\?via=\d+&to=\d+$"))
    expect(page.locator("main")).to_contain_text("鈴木 結衣")
    assert problems.found == []
