"""Birthdays end to end in a real browser, with CSRF on.

A member (Japanese, on a phone) gives her birthday on her profile (a day the month does not
have first: the message is next to the field), then chooses to show it on her co-worker page;
the co-worker she worked with (English, desktop) then sees it on his own co-worker page, in
the row and in "Birthdays this week".
"""

from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as with_mail
from tests.factories import slots_of
from tests.test_browser import DESKTOP, PHONE, TOKYO, _log_in
from tests.test_browser_signups import _fits_the_phone

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = with_mail.mailbox
live_server = with_mail.live_server
live = with_mail.live


def _seed(app) -> tuple[str, str, int]:
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        hanako = make.member(
            group, make.user("hanako@example.com", display_name="山田 花子", locale="ja")
        )
        tom = make.member(group, make.user("tom@example.com", display_name="Tom Baker"))
        tom.locale = "en"
        session = make.session(group, day=datetime.now(TOKYO).date() - timedelta(days=3))
        for member in (hanako, tom):
            assign(
                db.session,
                organizer=organizer,
                member=member,
                slot=slots_of(session)["setup"],
                now=datetime.now(UTC),
            )
        db.session.commit()
        seeded = (hanako.email, tom.email, tom.id)
        db.session.remove()
    return seeded


def test_a_shared_birthday_reaches_the_co_workers_page(live, new_context, screenshot):
    from playwright.sync_api import expect

    hanako, tom, tom_id = _seed(live.app)
    base = live.url
    today = datetime.now(TOKYO).date()

    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, base, hanako)
    page.goto(f"{base}/profile")
    page.get_by_label("誕生日：月（任意）").select_option("2")
    page.get_by_label("誕生日：日（任意）").select_option("30")
    page.get_by_role("button", name="保存").click()
    expect(page.locator("#birthday_day-help .error")).to_have_text("2月に30日はありません。")
    _fits_the_phone(page, "the profile with a birthday error")
    screenshot(page, "birthday-profile-error-ja-phone")
    page.get_by_label("誕生日：月（任意）").select_option(str(today.month))
    page.get_by_label("誕生日：日（任意）").select_option(str(today.day))
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".flash.success")).to_be_visible()
    page.goto(f"{base}/coworkers")
    page.get_by_label("誕生日（月日）を一緒に活動した人に見せる").check()
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_label("誕生日（月日）を一緒に活動した人に見せる")).to_be_checked()
    _fits_the_phone(page, "the co-worker page")
    screenshot(page, "birthday-privacy-ja-phone")
    assert problems.found == []

    context, problems = new_context("en-GB", DESKTOP)
    page = context.new_page()
    _log_in(page, base, tom)
    page.goto(f"{base}/people/{tom_id}/coworkers")
    label = f"{today.day} {today.strftime('%B')}"
    expect(page.locator("section.birthdays")).to_contain_text(f"山田 花子, {label}")
    expect(page.locator("ol.coworkers li").first).to_contain_text(f"Birthday: {label}")
    screenshot(page, "birthday-coworkers-en-desktop")
    assert problems.found == []
