""" "I can help" in a real browser: in a group whose organizers form the team, a member on a
390 px phone in Japanese says they can help with reception only until 11:00, sees it said
(with the count and that it is not a place), and withdraws it; on the next session of the
series they say they are usually available.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from studygroup.extensions import db
from studygroup.groups.models import FillMode
from studygroup.sessions.series import create_series, monthly_rule, plan_series
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as signups
from tests.test_browser import PHONE, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live


@dataclass(frozen=True)
class Seeded:
    member: str
    slug: str
    first_id: int
    second_id: int


def _seed(app) -> Seeded:
    """A group whose organizers form the team, a monthly series from about three weeks on,
    and a member who reads Japanese (the browser's language)."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(organizer, name="Tokyo Python Study", slug="tokyo-python")
        group.fill_mode = FillMode.FORMED
        group.team_days_before = 10
        make.member(group, make.user("member@example.com", display_name="Ken Ito"))
        rule = monthly_rule([3], "SA")
        planned = plan_series(
            rule=rule,
            first_day=datetime.now(TOKYO).date() + timedelta(days=20),
            months=3,
            start_time=time(10),
            end_time=time(12),
            tz=group.timezone,
            limit=10,
        )
        first, second, *_ = create_series(
            db.session,
            group=group,
            creator=organizer,
            title="Pythonもくもく会",
            rule=rule,
            planned=planned,
            now=datetime.now(UTC),
        )
        db.session.commit()
        seeded = Seeded("member@example.com", group.slug, first.id, second.id)
        db.session.remove()
        return seeded


def test_a_member_says_they_can_help_on_a_phone_in_japanese(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    context, problems = new_context("ja-JP", PHONE)
    page = context.new_page()
    _log_in(page, live.url, seeded.member)
    url = f"{live.url}/g/{seeded.slug}/sessions/{seeded.first_id}"
    page.goto(url)

    panel = page.locator("#can-help")
    expect(panel.locator("h2")).to_have_text("お手伝いできます")
    expect(panel).to_contain_text("現在0人がお手伝いできます。")
    expect(panel).to_contain_text("約10日前に主催者がチームを決めて、担当をお知らせします。")
    # Formed roles offer no sign-up button; the speaker (by request) still does.
    expect(page.get_by_role("button", name="申し込む", exact=True)).to_have_count(0)

    panel.get_by_label("チェックした役割").check()
    panel.get_by_label("受付").check()
    panel.get_by_label("メモ（任意）").fill("11:00まで")
    panel.get_by_role("button", name="お手伝いできますと伝える").click()

    expect(page.locator(".flash").first).to_contain_text("お手伝いできることが主催者に伝わりました")
    said = page.locator("#can-help .said")
    expect(said).to_contain_text("お手伝いできますと伝え済み")
    expect(said).to_contain_text("（受付）")
    expect(said).to_contain_text("11:00まで")
    expect(page.locator("#can-help")).to_contain_text("現在1人がお手伝いできます。")
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"the page scrolls sideways at 390 px: {width}px"
    screenshot(page, "availability-said-phone-390-ja")

    # Usually available for the series, from the next session: then "not this time" there.
    page.goto(f"{live.url}/g/{seeded.slug}/sessions/{seeded.second_id}")
    panel = page.locator("#can-help")
    panel.get_by_label("この定期開催にはたいてい参加できる").check()
    panel.get_by_role("button", name="お手伝いできますと伝える").click()
    expect(page.locator("#can-help .said")).to_contain_text(
        "この定期開催にはたいてい参加できます。"
    )
    page.locator("#can-help").get_by_role("button", name="今回は見送る").click()
    expect(page.locator("#can-help")).to_contain_text("この開催回は見送ります。")
    screenshot(page, "availability-not-this-time-phone-390-ja")

    # My schedule lists the sessions said.
    page.goto(f"{live.url}/schedule")
    expect(page.locator("#can-help li")).to_have_count(2)  # the first, and the third (series)

    # Withdrawing from the first, while usually available, is "not this time" there too.
    page.goto(url)
    page.locator("#can-help").get_by_role("button", name="今回は見送る").click()
    expect(page.locator("#can-help")).to_contain_text("この開催回は見送ります。")
    page.locator("#can-help").get_by_role("button", name="「たいてい参加できる」をやめる").click()
    page.goto(f"{live.url}/schedule")
    expect(page.locator("#can-help li")).to_have_count(0)
    assert problems.found == []
