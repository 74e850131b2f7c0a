"""Issue 11's walk on the demo group, in a real browser: an organizer lets the organizers form
the team, sees the suggested team with its reasons for the meeting after next, swaps one
person and accepts; the members get their emails (in their own language) and the place is in
their calendar feed; a member takes the setup place Tanaka offered at the next meeting.
On a desktop in English (Daniel, co-organizer) and on a 390 px phone in Japanese (Misaki).

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from studygroup.auth.models import User
from studygroup.demo import DEMO_PASSWORD, DEMO_PEOPLE, DEMO_SLUG
from studygroup.demo_staffing import WAITED
from studygroup.extensions import db
from studygroup.sessions.models import StudySession
from tests import test_browser as shared
from tests import test_browser_signups as signups
from tests.test_browser import DESKTOP, PHONE, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live

EMAIL_OF = {name: f"{local}@example.com" for local, name, _skills, _locale in DEMO_PEOPLE}
LOCALE_OF = {name: locale for _local, name, _skills, locale in DEMO_PEOPLE}


def _seed_demo(app):
    """The demo group; returns the next meeting's id, the meeting after next (id, title) and
    the feed path of every member by name."""
    from datetime import UTC, datetime

    from studygroup.calendar import tokens

    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo"])
        assert result.exit_code == 0, result.output
        now = datetime.now(UTC)
        upcoming = db.session.execute(
            sa.select(StudySession.id, StudySession.title)
            .where(StudySession.starts_at > now, StudySession.title.contains("第"))
            .order_by(StudySession.starts_at)
        ).all()
        feeds = {
            u.display_name: f"/calendar/member/{tokens.token_of(u)}.ics"
            for u in db.session.scalars(sa.select(User))
        }
        db.session.commit()
        db.session.remove()
    return upcoming[0].id, upcoming[1], feeds


def _walk(live, mailbox, new_context, screenshot, *, locale, viewport, name, who, words):
    from playwright.sync_api import expect

    next_id, (later_id, later_title), feeds = _seed_demo(live.app)
    base = live.url
    group_url = f"{base}/g/{DEMO_SLUG}"

    # The organizer lets the organizers form the team.
    context, problems = new_context(locale, viewport)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    _log_in(page, base, who["organizer"], DEMO_PASSWORD)
    page.goto(f"{group_url}/edit")
    page.get_by_label(words["formed_choice"]).check()
    page.get_by_role("button", name=words["save"], exact=True).click()
    expect(page.locator(".flash").first).to_be_visible()

    # The meeting after next: its staffing page leads to the suggested team.
    page.goto(f"{group_url}/sessions/{later_id}/staffing")
    page.get_by_role("link", name=words["suggested_team"], exact=True).click()
    expect(page.locator("h1")).to_contain_text(words["suggested_team"])
    for waited in WAITED:
        member = next(n for n in EMAIL_OF if EMAIL_OF[n].startswith(waited + "@"))
        pick = page.locator("ul.team-picks li", has=page.locator(".name", has_text=member))
        expect(pick.locator(".reasons")).to_contain_text(words["waited_twice"])
    expect(page.locator("ul.team-picks .reasons", has_text=words["new_pair"]).first).to_be_visible()
    width, view = _no_horizontal_scroll(page)
    assert width <= view, f"the team page scrolls sideways: {width}px in {view}px"
    screenshot(page, f"team-walk-suggested-{name}")

    # Swap the first person suggested for setup for someone else who can help.
    setup = page.locator("section.slot", has=page.locator("h2", has_text=words["setup"]))
    first = setup.locator("ul.team-picks > li").first
    swapped_out = first.locator(".name").inner_text()
    select = first.locator("select")
    choice = select.locator("option").nth(1)
    swapped_in = choice.inner_text().split(" · ")[0].strip()
    select.select_option(choice.get_attribute("value"))
    first.get_by_role("button", name=words["swap"], exact=True).click()
    setup = page.locator("section.slot", has=page.locator("h2", has_text=words["setup"]))
    chosen = setup.locator("ul.team-picks > li", has=page.locator(".name", has_text=swapped_in))
    expect(chosen.locator(".reasons")).to_contain_text(words["chosen"])
    expect(setup.locator("ul.team-picks .name", has_text=swapped_out)).to_have_count(0)
    screenshot(page, f"team-walk-swapped-{name}")

    # Accept: one click places the team.
    page.get_by_role("button", name=words["accept"]).click()
    expect(page.locator(".flash").first).to_be_visible()
    page.goto(f"{group_url}/sessions/{later_id}/staffing")
    expect(page.locator("main")).to_contain_text(swapped_in)
    screenshot(page, f"team-walk-accepted-{name}")
    assert problems.found == []

    # The swapped-in member is told in their own language, and the place is in their feed.
    address = EMAIL_OF[swapped_in]
    told = mailbox.to(address)
    assert len(told) == 1, [m["Subject"] for m in told]
    expected = words["team_subject_ja" if LOCALE_OF[swapped_in] == "ja" else "team_subject_en"]
    assert expected in told[0]["Subject"]
    assert not mailbox.to(EMAIL_OF[swapped_out])
    feed = page.request.get(base + feeds[swapped_in])
    assert feed.status == 200
    summaries = [str(e.get("SUMMARY")) for e in Calendar.from_ical(feed.body()).walk("VEVENT")]
    setup_word = "設営" if LOCALE_OF[swapped_in] == "ja" else "Setup"  # the member's language
    assert f"{setup_word}: {later_title}" in summaries, (swapped_in, summaries)

    # A member takes the setup place Tanaka offered at the next meeting.
    member_context, member_problems = new_context(locale, viewport)
    member = member_context.new_page()
    member.on("dialog", lambda dialog: dialog.accept())
    _log_in(member, base, who["taker"], DEMO_PASSWORD)
    member.goto(f"{group_url}/sessions/{next_id}")
    line = member.locator(".offer-line", has_text=words["tanaka_offers"])
    expect(line).to_contain_text(words["tanaka_note"])
    screenshot(member, f"team-walk-offer-{name}")
    line.get_by_role("button", name=words["take"], exact=True).click()
    expect(member.locator(".flash").first).to_contain_text(words["taken"])
    assert member_problems.found == []
    tanaka = [m for m in mailbox.to("tanaka@example.com") if "交代が決まりました" in m["Subject"]]
    assert len(tanaka) == 1

    # The organizer sees it in the next meeting's history.
    page.goto(f"{group_url}/sessions/{next_id}/staffing")
    expect(page.locator("main")).to_contain_text(words["took_over"])


def test_the_issue_walk_on_a_desktop_in_english(live, mailbox, new_context, screenshot):
    _walk(
        live,
        mailbox,
        new_context,
        screenshot,
        locale="en-US",
        viewport=DESKTOP,
        name="desktop-en",
        who={"organizer": "coorganizer@example.com", "taker": "priya@example.com"},
        words={
            "formed_choice": "Organizers form the team: members say they can help",
            "save": "Save",
            "suggested_team": "Suggested team",
            "waited_twice": "offered help 2 times without a place",
            "new_pair": "new pair",
            "setup": "Setup",
            "swap": "Swap",
            "chosen": "chosen by an organizer",
            "accept": "Accept the team",
            "team_subject_en": "You are on the team",
            "team_subject_ja": "担当",
            "tanaka_offers": "田中 翔 offers their place as Setup.",
            "tanaka_note": "急な出張",
            "take": "Take it",
            "taken": "Thank you for helping",
            "took_over": "took over an offered place",
        },
    )


def test_the_issue_walk_on_a_phone_in_japanese(live, mailbox, new_context, screenshot):
    _walk(
        live,
        mailbox,
        new_context,
        screenshot,
        locale="ja-JP",
        viewport=PHONE,
        name="phone-ja",
        who={"organizer": "organizer@example.com", "taker": "ito@example.com"},
        words={
            "formed_choice": "主催者がチームを決める：メンバーは「お手伝いできます」と伝えます",
            "save": "保存",
            "suggested_team": "おすすめの担当",
            "waited_twice": "お手伝いを申し出て2回続けて枠がなかった",
            "new_pair": "新しい組み合わせ",
            "setup": "設営",
            "swap": "交代",
            "chosen": "主催者が選択",
            "accept": "この担当で決定する",
            "team_subject_en": "You are on the team",
            "team_subject_ja": "担当のお願い",
            "tanaka_offers": "田中 翔さんが設営の交代をお願いしています。",
            "tanaka_note": "急な出張",
            "take": "引き受ける",
            "taken": "ご協力ありがとうございます",
            "took_over": "交代で引き受け",
        },
    )
