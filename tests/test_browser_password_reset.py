""" "Forgot your password?" in a real browser: on a 360 px phone in Japanese and on an English
desktop, a member asks for a link from the login page, opens it (read from the outbox: the live
server sends no mail), types two different passwords (told next to the field), sets one and is
logged in; the link opened again says it was used and offers a new one.

Screenshots go to test-artifacts/screenshots/password-*.png for a person to look at.
"""

import re

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_360 = {"width": 360, "height": 780}
NEW_PASSWORD = "tall green kettle 42"


def _seed(app, locale: str) -> None:
    with app.app_context():
        factories.Factories(db.session).user(
            "hana@example.com", display_name="Hana Kato", locale=locale
        )
        db.session.remove()


def _emailed_link(app) -> str:
    """The link in the reset email, as the outbox keeps it."""
    with app.app_context():
        body = db.session.scalar(
            sa.select(OutboundEmail.body).where(OutboundEmail.kind == "password_reset")
        )
        db.session.remove()
    return re.search(r"https?://\S+/password/reset/\S+", body)[0]


@pytest.mark.parametrize(
    "locale, viewport, words",
    [
        (
            "ja-JP",
            PHONE_360,
            {
                "forgot": "パスワードをお忘れですか？",
                "email": "メールアドレス",
                "send": "リンクを送る",
                "sent": "hana@example.com のアカウントがある場合は",
                "new": "新しいパスワード",
                "again": "新しいパスワード（確認）",
                "set": "パスワードを設定する",
                "mismatch": "2つのパスワードが一致しません。",
                "done": "パスワードを設定し、ログインしました。",
                "used": "このリンクは使用済みか",
                "ask": "新しいリンクを申し込む",
            },
        ),
        (
            "en-US",
            DESKTOP,
            {
                "forgot": "Forgot your password?",
                "email": "Email",
                "send": "Send the link",
                "sent": "If an account has the address hana@example.com",
                "new": "New password",
                "again": "New password again",
                "set": "Set the password",
                "mismatch": "The two passwords are not the same.",
                "done": "Your password is set and you are logged in.",
                "used": "The link was used already",
                "ask": "Ask for a new link",
            },
        ),
    ],
)
def test_a_member_sets_a_new_password_from_the_emailed_link(
    live, new_context, screenshot, locale, viewport, words
):
    from playwright.sync_api import expect

    _seed(live.app, locale[:2])
    name = f"{locale[:2]}-{viewport['width']}"
    context, problems = new_context(locale, viewport)
    page = context.new_page()
    page.goto(f"{live.url}/login")
    page.get_by_role("link", name=words["forgot"]).click()
    page.get_by_label(words["email"], exact=True).fill("hana@example.com")
    screenshot(page, f"password-forgot-{name}")
    page.get_by_role("button", name=words["send"]).click()
    expect(page.locator("main")).to_contain_text(words["sent"])
    assert page.url.endswith("/login")
    screenshot(page, f"password-sent-{name}")

    link = _emailed_link(live.app)
    page.goto(link)
    page.get_by_label(words["new"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(words["again"], exact=True).fill(NEW_PASSWORD + "!")
    page.get_by_role("button", name=words["set"]).click()
    expect(page.locator(".field.invalid")).to_contain_text(words["mismatch"])
    width, view = _no_horizontal_scroll(page)
    assert width <= view, f"the password page scrolls sideways: {width}px in {view}px"
    screenshot(page, f"password-mismatch-{name}")
    page.get_by_label(words["new"], exact=True).fill(NEW_PASSWORD)
    page.get_by_label(words["again"], exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name=words["set"]).click()
    expect(page.locator("main")).to_contain_text(words["done"])
    assert page.url == f"{live.url}/"
    screenshot(page, f"password-set-{name}")

    page.goto(link)
    expect(page.locator("main")).to_contain_text(words["used"])
    screenshot(page, f"password-used-{name}")
    page.get_by_role("link", name=words["ask"]).click()
    expect(page.get_by_role("button", name=words["send"])).to_be_visible()

    # Expected: the 422 of the two different passwords, the 410 of the used link.
    assert [p for p in problems.found if not re.search(r"\b(422|410)\b", p)] == []
