"""Long lists in a real browser (issue 9, item 1): a group with a year of sessions and 36
members with long Japanese names. A member pages to the last upcoming session and signs up
there; an organizer reaches an old session through the archive by year, and finds a member
by reading. Desktop and a 360 px phone; nothing scrolls sideways.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.sessions.series import monthly_rule, weekly_rule
from studygroup.signups.organizing import assign
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, _log_in, _no_horizontal_scroll
from tests.test_lists import post_series

pytestmark = pytest.mark.browser

browser = shared.browser
live_server = shared.live_server
live = shared.live
new_context = shared.new_context
screenshot = shared.screenshot

PHONE_360 = {"width": 360, "height": 740}

# 34 members besides the organizer and Ken: long Japanese names, most with a reading.
FAMILY = [
    ("長谷川", "はせがわ", "Hasegawa"),
    ("佐々木", "ささき", "Sasaki"),
    ("小野寺", "おのでら", "Onodera"),
    ("五十嵐", "いがらし", "Igarashi"),
    ("宇佐美", "うさみ", "Usami"),
    ("勅使河原", "てしがわら", "Teshigawara"),
    ("渡辺", "わたなべ", "Watanabe"),
    ("中村", "なかむら", "Nakamura"),
    ("山本", "やまもと", "Yamamoto"),
    ("小林", "こばやし", "Kobayashi"),
    ("吉田", "よしだ", "Yoshida"),
    ("松本", "まつもと", "Matsumoto"),
    ("井上", "いのうえ", "Inoue"),
    ("木村", "きむら", "Kimura"),
    ("清水", "しみず", "Shimizu"),
    ("森田", "もりた", "Morita"),
    ("藤原", "ふじわら", "Fujiwara"),
]
GIVEN = [
    ("ひかり", "ひかり", "Hikari"),
    ("健太郎", "けんたろう", "Kentaro"),
    ("美咲", "みさき", "Misaki"),
    ("翔太", "しょうた", "Shota"),
]


@dataclass(frozen=True)
class Busy:
    slug: str
    organizer_email: str
    member_email: str
    last_title: str
    oldest_title: str
    oldest_year: int
    upcoming: int


def _seed_busy_group(app) -> Busy:
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 美咲 (Misaki Sato)")
        group = make.group(organizer, name="渋谷Python勉強会", slug="shibuya-py")
        # Sign-up opens 8 months ahead, so the last session of the series takes places.
        group.signup_opens_days_before = 240
        member = make.member(group, make.user("member@example.com", display_name="Ken Ito"))
        people = []
        for n in range(34):
            family, family_kana, family_en = FAMILY[n % len(FAMILY)]
            given, given_kana, given_en = GIVEN[n % len(GIVEN)]
            user = make.member(
                group, make.user(display_name=f"{family} {given} ({given_en} {family_en})")
            )
            if n % 5:  # most give a reading, some in katakana
                reading = f"{family_kana} {given_kana}"
                user.reading = reading if n % 3 else reading.translate(_TO_KATAKANA)
            people.append(user)
        first = (date.today().replace(day=1) + timedelta(days=32)).replace(day=1)
        last = None
        for rule, start, title in (
            (monthly_rule([3], "SA"), time(10), "Pythonもくもく会"),
            (weekly_rule("WE"), time(19), "夜のもくもく会"),
        ):
            sessions = post_series(
                group,
                organizer,
                rule=rule,
                first_day=first,
                start=start,
                end=time(start.hour + 2),
                title=title,
            )
            last = max([*sessions, *([last] if last else [])], key=lambda s: s.starts_at)
        last_title = f"{last.title} 最終回"
        last.title = last_title
        # 12 past sessions in the two years before this one, with people who worked them.
        this_year = date.today().year
        for n in range(12):
            year = this_year - 1 if n < 8 else this_year - 2
            session = make.session(group, day=date(year, 1 + n, 10), title=f"第{n + 1}回")
            slots = db.session.scalars(
                sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.id)
            ).all()
            for k, slot in enumerate(slots[:2]):
                worker = people[(n * 2 + k) % len(people)]
                assign(
                    db.session, organizer=organizer, member=worker, slot=slot, now=datetime.now(UTC)
                )
        db.session.commit()
        upcoming = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(StudySession)
            .where(StudySession.group_id == group.id, StudySession.ends_at >= datetime.now(UTC))
        )
        busy = Busy(
            group.slug, organizer.email, member.email, last_title, "第9回", this_year - 2, upcoming
        )
        db.session.remove()
    return busy


_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def _looker(screenshot, size: str):
    """Screenshot a page for a person to look at; on a phone, check nothing scrolls sideways."""

    def look(page, name: str):
        screenshot(page, name)
        if size == "phone":
            width, viewport = _no_horizontal_scroll(page)
            assert width <= viewport, f"{name} scrolls sideways: {width}px in {viewport}px"

    return look


def test_a_member_pages_to_the_last_session_and_signs_up_there(live, new_context, screenshot):
    from playwright.sync_api import expect

    busy = _seed_busy_group(live.app)
    base = live.url
    for locale, viewport, size in (("ja-JP", DESKTOP, "desktop"), ("en-US", PHONE_360, "phone")):
        context, problems = new_context(locale, viewport)
        page = context.new_page()
        look = _looker(screenshot, size)
        _log_in(page, base, busy.member_email)
        page.goto(f"{base}/g/{busy.slug}")
        assert busy.upcoming >= 32
        expect(page.locator("#upcoming + p.count")).to_contain_text(str(busy.upcoming))
        pager = page.locator("nav.pager")
        expect(pager.locator("[aria-current=page]")).to_have_text("1")
        look(page, f"lists-group-first-page-{size}")
        # Page forward with "Next" until there is none: the last session is on that page.
        label = "次へ" if locale == "ja-JP" else "Next"
        pages = 1
        while pager.get_by_role("link", name=label).count():
            pager.get_by_role("link", name=label).click()
            pages += 1
            expect(pager.locator("[aria-current=page]")).to_have_text(str(pages))
        assert pages >= 3
        last = page.locator("li.session").last
        expect(last.locator("strong")).to_have_text(busy.last_title)
        look(page, f"lists-group-last-page-{size}")
        if size == "desktop":
            last.get_by_role("link").click()
            expect(page.locator("h1")).to_contain_text(busy.last_title)
            reception = page.locator("li.role-card", has=page.locator("h3", has_text="受付"))
            reception.get_by_role("button", name="申し込む").click()
            expect(page.locator(".flash")).to_contain_text("受付")
            expect(reception.locator(".badge.full").first).to_be_visible()
            screenshot(page, "lists-signed-up-on-the-last-session-desktop")
        # The home page pages the same way, with its count.
        page.goto(f"{base}/")
        expect(page.locator("#upcoming + p.count")).to_contain_text(str(busy.upcoming))
        last_page = -(-busy.upcoming // 12)
        name = f"Page {last_page}" if locale == "en-US" else f"{last_page}ページ目"
        page.locator("nav.pager").get_by_role("link", name=name).click()
        expect(page.locator("li.session").last.locator("strong")).to_have_text(busy.last_title)
        look(page, f"lists-home-last-page-{size}")
        context.close()
        assert problems.found == []


def test_an_organizer_reaches_an_old_session_and_a_member_by_reading(live, new_context, screenshot):
    from playwright.sync_api import expect

    busy = _seed_busy_group(live.app)
    base = live.url
    for locale, viewport, size in (("en-US", DESKTOP, "desktop"), ("ja-JP", PHONE_360, "phone")):
        context, problems = new_context(locale, viewport)
        page = context.new_page()
        look = _looker(screenshot, size)
        _log_in(page, base, busy.organizer_email)
        en = locale == "en-US"

        # The archive by year, from the group page, to the oldest year's first session.
        page.goto(f"{base}/g/{busy.slug}")
        years = page.locator("nav.years")
        expect(years).to_contain_text(str(busy.oldest_year))
        years.get_by_role("link", name=str(busy.oldest_year), exact=False).click()
        expect(page.locator("nav.tabs [aria-current=page]")).to_contain_text(str(busy.oldest_year))
        old = page.locator("li.session", has=page.get_by_role("link", name=busy.oldest_title))
        expect(old).to_have_count(1)
        look(page, f"lists-archive-{size}")
        old.get_by_role("link", name="Staffing and attendance" if en else "担当と出欠").click()
        expect(page.locator("h1")).to_contain_text(busy.oldest_title)

        # The staffing overview pages to its end, with its counts.
        page.goto(f"{base}/g/{busy.slug}/staffing")
        expect(page.locator("p.count")).to_contain_text(str(busy.upcoming))
        look(page, f"lists-staffing-{size}")

        # Members: 36, two pages of names with readings; search by reading, open one.
        page.goto(f"{base}/g/{busy.slug}/members")
        expect(page.locator("nav.tabs [aria-current=page]")).to_contain_text("36")
        look(page, f"lists-members-{size}")
        page.get_by_label("Find by name or reading" if en else "名前・ふりがなで探す").fill(
            "ハセガワ"
        )
        page.get_by_role("button", name="Search" if en else "検索").click()
        # The reading はせがわ けんたろう, found in katakana; 長谷川 ひかり gave none, and is
        # found by the reading guessed from her name (はせがわ ひかり: after けんたろう).
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("長谷川 健太郎 (Kentaro Hasegawa)")
        expect(rows.nth(1)).to_contain_text("長谷川 ひかり")
        rows.first.get_by_role("link").first.click()
        expect(page.locator("h1")).to_contain_text("長谷川")
        expect(page.locator("#record")).to_be_visible()
        look(page, f"lists-member-page-{size}")

        page.goto(f"{base}/g/{busy.slug}/records")
        expect(page.locator("p.count")).to_contain_text("36")
        look(page, f"lists-records-{size}")
        page.goto(f"{base}/organize")
        look(page, f"lists-organize-{size}")
        context.close()
        assert problems.found == []
