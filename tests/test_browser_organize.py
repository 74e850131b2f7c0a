"""/organize in a real browser (Debian's Chromium through Playwright), with CSRF on and mail
sent over real SMTP: the organizer follows "Needs you" to each thing that waits for them,
answers a request right there, and moves a helper with "Move to…" on a phone.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.extensions import db
from studygroup.groups.models import JoinPolicy
from studygroup.groups.services import join_group
from studygroup.mail.delivery import send_queued
from studygroup.signups.organizing import assign
from studygroup.signups.services import sign_up
from tests import factories
from tests import test_browser as shared
from tests import test_browser_signups as signups
from tests.factories import slots_of
from tests.test_browser import DESKTOP, TOKYO, _log_in, _no_horizontal_scroll

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
mailbox = signups.mailbox
live_server = signups.live_server
live = signups.live

NARROW_PHONE = {"width": 360, "height": 780}


@dataclass(frozen=True)
class Seeded:
    organizer: str
    slug: str
    soon_id: int
    ended_id: int
    talk_id: int
    reception_id: int
    setup_id: int
    joining_id: int
    mika_place_id: int


def _seed(app) -> Seeded:
    """An organizer (browser's language) of a group that approves who joins; a session in
    five days with a talk request, a full reception with one waiting and setup empty; a session
    that ended two days ago with attendance not confirmed; someone asking to join."""
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="Aiko Sato")
        group = make.group(
            organizer,
            name="Tokyo Python Study",
            slug="tokyo-python",
            join_policy=JoinPolicy.APPROVAL,
        )
        ken, mika, taro, yui = (
            make.member(group, make.user(f"{key}@example.com", display_name=name, locale="en"))
            for key, name in (
                ("ken", "Ken Ito"),
                ("mika", "Mika Mori"),
                ("taro", "Taro Kato"),
                ("yui", "Yui Ueda"),
            )
        )
        today = datetime.now(TOKYO).date()
        now = datetime.now(UTC)
        soon = make.session(group, day=today + timedelta(days=5), title="Pythonもくもく会 第12回")
        s = slots_of(soon)
        talk = sign_up(
            db.session, member=ken, slot=s["speaker"], now=now, talk_title="型ヒント入門"
        )
        mika_place = sign_up(db.session, member=mika, slot=s["reception"], now=now)
        sign_up(db.session, member=taro, slot=s["reception"], now=now)
        sign_up(db.session, member=yui, slot=s["reception"], now=now)  # waits
        ended = make.session(group, day=today - timedelta(days=2), title="Pythonもくもく会 第11回")
        for member in (mika, taro):
            assign(
                db.session,
                organizer=organizer,
                member=member,
                slot=slots_of(ended)["setup"],
                now=now - timedelta(days=9),
            )
        joining = join_group(
            db.session,
            user=make.user("new@example.com", display_name="Newcomer"),
            group=group,
            now=now,
        )
        db.session.commit()
        send_queued(db.session, now=now)
        seeded = Seeded(
            organizer.email,
            group.slug,
            soon.id,
            ended.id,
            talk.id,
            s["reception"].id,
            s["setup"].id,
            joining.id,
            mika_place.id,
        )
        db.session.remove()
    return seeded


def test_needs_you_leads_to_each_thing_waiting(live, mailbox, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url
    # The join request and the talk request were each mailed to the organizer.
    # (In the organizer's language for emails, whatever it is: each subject names who asks.)
    signups._mail_to(mailbox, seeded.organizer, "Newcomer")
    signups._mail_to(mailbox, seeded.organizer, "Ken Ito")

    context, problems = new_context("en-US", DESKTOP)
    page = context.new_page()
    _log_in(page, base, seeded.organizer)
    page.get_by_role("link", name="Organize", exact=True).click()
    expect(page).to_have_url(f"{base}/organize")
    needs = page.locator("section.needs")
    expect(needs.locator("h2")).to_have_text("Needs you 5")
    items = needs.locator("li.need")
    expect(items).to_have_count(5)
    expect(items.locator(".badge.kind")).to_have_text(
        ["Request", "Join request", "Attendance", "Waitlist", "Gaps"]
    )
    expect(items.nth(3)).to_contain_text("Reception: 1 waiting")
    expect(items.nth(4)).to_contain_text("Setup: 3 more needed")
    screenshot(page, "organize-needs-desktop-en")

    staffing = f"{base}/g/{seeded.slug}/sessions"
    # The request: straight to it on the session's staffing page.
    needs.get_by_role("link", name="Ken Ito asks to speak: “型ヒント入門”").click()
    expect(page).to_have_url(f"{staffing}/{seeded.soon_id}/staffing#place-{seeded.talk_id}")
    request = page.locator(f"#place-{seeded.talk_id}")
    expect(request).to_contain_text("型ヒント入門")
    expect(request).to_be_in_viewport()
    expect(request.get_by_role("button", name="Approve")).to_be_visible()
    screenshot(page, "staffing-from-needs-desktop-en")
    page.go_back()

    # The waitlist and a gap: the role on that page.
    needs.get_by_role("link", name="Reception: 1 waiting").click()
    expect(page).to_have_url(f"{staffing}/{seeded.soon_id}/staffing#slot-{seeded.reception_id}")
    expect(page.locator(f"#slot-{seeded.reception_id}")).to_be_in_viewport()
    page.go_back()
    needs.get_by_role("link", name="Setup: 3 more needed").click()
    expect(page).to_have_url(f"{staffing}/{seeded.soon_id}/staffing#slot-{seeded.setup_id}")
    page.go_back()

    # The join request: its row on the members page.
    needs.get_by_role("link", name="Newcomer asks to join the group").click()
    expect(page).to_have_url(
        f"{base}/g/{seeded.slug}/members?status=pending#member-{seeded.joining_id}"
    )
    row = page.locator(f"#member-{seeded.joining_id}")
    expect(row).to_contain_text("Asked to join")
    expect(row).to_be_in_viewport()
    page.go_back()

    # The session that just ended: one click to confirm who worked.
    needs.get_by_role("link", name="Confirm who worked: Pythonもくもく会 第11回").click()
    expect(page).to_have_url(f"{staffing}/{seeded.ended_id}/staffing#attendance")
    page.get_by_role(
        "button", name="Confirm attendance: 2 unrecorded places count as worked"
    ).click()
    expect(page.locator(".flash")).to_have_text("Attendance confirmed: 2 places marked as worked.")

    # Answered right on /organize: the talk is approved, and the list is shorter.
    page.goto(f"{base}/organize")
    needs.locator("li.need.request").get_by_role("button", name="Approve").click()
    expect(page).to_have_url(f"{base}/organize#needs")
    expect(page.locator(".flash")).to_have_text(
        "Ken Ito's talk “型ヒント入門” is approved. Ken Ito is told by email."
    )
    expect(needs.locator("li.need .badge.kind")).to_have_text(["Join request", "Waitlist", "Gaps"])
    expect(needs.locator("li.need.gaps")).not_to_contain_text("Speaker")  # Ken speaks now
    signups._mail_to(mailbox, "ken@example.com", "Confirmed")
    screenshot(page, "organize-needs-answered-desktop-en")
    assert problems.found == []


def test_needs_you_and_move_to_on_a_360_px_phone_in_japanese(live, new_context, screenshot):
    from playwright.sync_api import expect

    seeded = _seed(live.app)
    base = live.url
    context, problems = new_context("ja-JP", NARROW_PHONE)
    page = context.new_page()
    _log_in(page, base, seeded.organizer)
    page.goto(f"{base}/organize")
    needs = page.locator("section.needs")
    expect(needs.locator("h2")).to_have_text("対応が必要なこと 5")
    expect(needs.locator("li.need")).to_have_count(5)
    width, viewport = _no_horizontal_scroll(page)
    assert width <= viewport, f"/organize scrolls sideways at 360 px: {width}px"
    screenshot(page, "organize-needs-phone-360-ja")

    # Moving reads as an action: "別の役割へ移動…" opens the roles Mika can move to.
    needs.get_by_role("link", name="受付: キャンセル待ち1人").click()
    place = page.locator(f"#place-{seeded.mika_place_id}")
    move = place.locator("details.move")
    expect(move.locator("summary")).to_have_text("別の役割へ移動…")
    expect(place.locator("select")).to_have_count(0)
    targets = move.get_by_role("button")
    expect(targets.first).to_be_hidden()
    screenshot(page, "staffing-move-closed-phone-360-ja")
    move.locator("summary").click()
    expect(targets).to_have_text(["設営", "登壇者"])
    box = move.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW_PHONE["width"]
    screenshot(page, "staffing-move-open-phone-360-ja")
    move.get_by_role("button", name="Mika Moriさんを設営に移動").click()
    expect(page.locator(".flash").first).to_have_text(
        "Mika Moriさんを受付から設営に移しました。Mika Moriさんにメールでお知らせしました。"
    )
    # Her reception place went to the first on the waitlist.
    expect(page.locator(".flash").nth(1)).to_have_text(
        "Yui Uedaさんがキャンセル待ちから繰り上がりました。Yui Uedaさんにメールでお知らせしました。"
    )
    screenshot(page, "staffing-moved-phone-360-ja")
    assert problems.found == []
