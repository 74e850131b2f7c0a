"""Newcomers and phones in a real browser (Debian's Chromium through Playwright), CSRF on.

- A newcomer opens a shared session link and gets a place: create an account, join (or ask to
  join), sign up, always coming back to the session. In Japanese and English, phone and desktop.
- Every main page, with a year of realistic data (36 members with long names, talk titles,
  14 past sessions), fits a 360 px wide phone: nothing scrolls sideways. The header is one line
  on a phone (a menu button) and on a 1280 px desktop.

Screenshots go to test-artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from sqlalchemy.orm import selectinload

from studygroup.auth.models import User
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Anchor, JoinPolicy, MemberRole, Membership, MembershipStatus
from studygroup.groups.role_types import add_role_type
from studygroup.groups.services import approve_member
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.sessions.series import create_series, monthly_rule, plan_series
from studygroup.signups.organizing import assign, confirm_attendance
from studygroup.signups.services import sign_up
from tests import factories
from tests import test_browser as shared
from tests.test_browser import DESKTOP, _log_in

pytestmark = pytest.mark.browser

browser = shared.browser
new_context = shared.new_context
screenshot = shared.screenshot
live_server = shared.live_server
live = shared.live

TALK = "型ヒントで変わるFlaskアプリ: SQLAlchemy 2の型付きモデル入門"
PHONE_360 = {"width": 360, "height": 780}
PASSWORD = "a long enough passphrase 2027"


# --- a newcomer, from a shared session link to a place --------------------------------------

# What the newcomer reads and clicks, in each language.
WORDS = {
    "en": {
        "create": "Create account",
        "name": "Display name",
        "email": "Email",
        "password": "Password",
        "join": "Join this group",
        "ask": "Ask to join",
        "joined": "You are now a member of {group}: you can sign up.",
        "asked": "Your request is sent. An organizer will answer it.",
        "waiting": "Waiting for an organizer's approval",
        "sign_up": "Sign up",
        "on_role": "You are on this role",
        "menu": "Menu",
    },
    "ja": {
        "create": "アカウント作成",
        "name": "表示名",
        "email": "メールアドレス",
        "password": "パスワード",
        "join": "このグループに参加",
        "ask": "参加を申請",
        "joined": "{group}のメンバーになりました。このページから申し込めます。",
        "asked": "申請を送信しました。主催者からの返答をお待ちください。",
        "waiting": "主催者の承認待ち",
        "sign_up": "申し込む",
        "on_role": "この役割に登録済み",
        "menu": "メニュー",
    },
}


@dataclass(frozen=True)
class Shared:
    group_id: int
    group: str
    slug: str
    session_id: int
    organizer_email: str


def _group_with_a_session(app, policy: JoinPolicy) -> Shared:
    with app.app_context():
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 美咲 (Misaki Sato)")
        group = make.group(
            organizer, name="渋谷Python勉強会 (Shibuya.py)", slug="shibuya-py", join_policy=policy
        )
        session = make.session(
            group, day=date.today() + timedelta(days=12), title="第13回 もくもく会とLT大会"
        )
        shared_link = Shared(group.id, group.name, group.slug, session.id, organizer.email)
        db.session.remove()
    return shared_link


@dataclass
class Newcomer:
    page: object
    problems: object
    words: dict
    link: Shared
    path: str
    email: str


def _open_the_link_and_register(live, new_context, locale, device, policy) -> Newcomer:
    """Steps 1-2 (and the form): the shared link, "Create account", the form; back on the
    session page, logged in."""
    from playwright.sync_api import expect

    words = WORDS[locale[:2]]
    link = _group_with_a_session(live.app, policy)
    context, problems = new_context(locale, PHONE_360 if device == "phone" else DESKTOP)
    page = context.new_page()
    email = f"hikari-{locale[:2]}@example.com"
    path = f"/g/{link.slug}/sessions/{link.session_id}"
    page.goto(f"{live.url}{path}")  # the shared link
    page.locator("main").get_by_role("link", name=words["create"]).click()  # click 1
    expect(page).to_have_url(f"{live.url}/register?next={path}")
    page.get_by_label(words["name"]).fill("長谷川 ひかり (Hikari Hasegawa)")
    page.get_by_label(words["email"]).fill(email)
    page.get_by_label(words["password"]).fill(PASSWORD)
    page.locator("main form").get_by_role("button", name=words["create"]).click()  # click 2
    expect(page).to_have_url(f"{live.url}{path}")
    # Logged in, back on the session: no sign-up button before joining.
    expect(page.get_by_role("button", name=words["sign_up"], exact=True)).to_have_count(0)
    return Newcomer(page, problems, words, link, path, email)


def _sign_up_for_setup(page, words):
    from playwright.sync_api import expect

    setup = page.locator("li.role-card").first
    setup.get_by_role("button", name=words["sign_up"], exact=True).click()
    expect(page.locator("li.role-card").first.locator(".badge.full")).to_have_text(words["on_role"])


def _places_of(app, email) -> list[str]:
    from studygroup.signups.models import Assignment

    with app.app_context():
        rows = db.session.scalars(
            sa.select(Assignment.status)
            .join(User, User.id == Assignment.user_id)
            .where(User.email == email)
        ).all()
        db.session.remove()
    return [str(status) for status in rows]


@pytest.mark.parametrize(("locale", "device"), [("ja-JP", "phone"), ("en-US", "desktop")])
def test_newcomer_from_a_shared_session_link_to_a_place_in_an_open_group(
    live, new_context, screenshot, locale, device
):
    from playwright.sync_api import expect

    new = _open_the_link_and_register(live, new_context, locale, device, JoinPolicy.OPEN)
    page, words, shot = new.page, new.words, f"{device}-{locale[:2]}"
    screenshot(page, f"newcomer-open-after-register-{shot}")
    page.get_by_role("button", name=words["join"]).click()  # click 3
    expect(page).to_have_url(f"{live.url}{new.path}")
    expect(page.locator(".flash")).to_have_text(words["joined"].format(group=new.link.group))
    screenshot(page, f"newcomer-open-joined-{shot}")
    _sign_up_for_setup(page, words)  # click 4: a place
    screenshot(page, f"newcomer-open-signed-up-{shot}")
    assert _places_of(live.app, new.email) == ["confirmed"]
    assert new.problems.found == []


@pytest.mark.parametrize(("locale", "device"), [("en-US", "phone"), ("ja-JP", "desktop")])
def test_newcomer_from_a_shared_session_link_to_a_place_in_an_approval_group(
    live, new_context, screenshot, locale, device
):
    from playwright.sync_api import expect

    new = _open_the_link_and_register(live, new_context, locale, device, JoinPolicy.APPROVAL)
    page, words, shot = new.page, new.words, f"{device}-{locale[:2]}"
    page.get_by_role("button", name=words["ask"]).click()  # click 3
    expect(page).to_have_url(f"{live.url}{new.path}")
    expect(page.locator(".flash")).to_have_text(words["asked"])
    expect(page.locator("main .badge", has_text=words["waiting"])).to_be_visible()
    expect(page.get_by_role("button", name=words["sign_up"], exact=True)).to_have_count(0)
    screenshot(page, f"newcomer-approval-asked-{shot}")

    # An organizer answers (their part is not the newcomer's steps).
    with live.app.app_context():
        membership = db.session.scalar(
            sa.select(Membership).join(User).where(User.email == new.email)
        )
        approve_member(db.session, membership, now=utcnow())
        db.session.commit()
        db.session.remove()

    page.reload()  # the newcomer comes back to the session
    _sign_up_for_setup(page, words)  # click 4: a place
    screenshot(page, f"newcomer-approval-signed-up-{shot}")
    assert _places_of(live.app, new.email) == ["confirmed"]
    assert new.problems.found == []


def test_header_links_and_the_login_page_keep_where_a_visitor_came_from(
    live, new_context, screenshot
):
    """From a group page: the header's "Log in" on a phone (in the menu), then "Create
    account" on the login page, registering, and the visitor is back on the group page."""
    from playwright.sync_api import expect

    link = _group_with_a_session(live.app, JoinPolicy.OPEN)
    context, problems = new_context("ja-JP", PHONE_360)
    page = context.new_page()
    page.goto(f"{live.url}/g/{link.slug}")
    header = page.locator("header.site")
    expect(header.get_by_role("link", name="ログイン")).to_have_count(0)  # behind the menu
    header.locator("summary").click()
    screenshot(page, "header-menu-open-phone-ja")
    header.get_by_role("link", name="ログイン").click()
    expect(page).to_have_url(f"{live.url}/login?next=/g/{link.slug}")
    page.locator("main").get_by_role("link", name="アカウント作成").click()
    expect(page).to_have_url(f"{live.url}/register?next=/g/{link.slug}")
    page.get_by_label("表示名").fill("東海林 蓮 (Ren Shoji)")
    page.get_by_label("メールアドレス").fill("ren@example.com")
    page.get_by_label("パスワード").fill(PASSWORD)
    page.locator("main form").get_by_role("button", name="アカウント作成").click()
    expect(page).to_have_url(f"{live.url}/g/{link.slug}")
    expect(page.get_by_role("button", name="このグループに参加")).to_be_visible()
    assert problems.found == []


# --- every main page on a 360 px phone, with a year of realistic data ----------------------

SURNAMES = [
    ("長谷川", "Hasegawa"), ("佐々木", "Sasaki"), ("小野寺", "Onodera"), ("五十嵐", "Igarashi"),
    ("宇都宮", "Utsunomiya"), ("山之内", "Yamanouchi"), ("東海林", "Shoji"),
    ("勅使河原", "Teshigawara"), ("久保田", "Kubota"), ("大久保", "Okubo"),
    ("西園寺", "Saionji"), ("渡辺", "Watanabe"),
]  # fmt: skip
GIVEN = [("ひかり", "Hikari"), ("健太郎", "Kentaro"), ("さくら", "Sakura")]
ABROAD = ["Priya Venkataraman-Nair", "Maximilian Oberhuber-Schwarzenberg"]


@dataclass(frozen=True)
class Year:
    slug: str
    next_id: int
    past_id: int
    organizer_email: str
    confirmed_id: int  # a past session whose attendance is confirmed


def _seed_a_year(app) -> Year:
    """36 members, the organizer among the volunteers, 14 past third Saturdays worked and
    confirmed, 4 to come: the next one partly staffed, with a waitlist and a talk request."""
    with app.app_context():
        now = utcnow()
        make = factories.Factories(db.session)
        organizer = make.user("organizer@example.com", display_name="佐藤 美咲 (Misaki Sato)")
        group = make.group(organizer, name="渋谷Python勉強会 (Shibuya.py)", slug="shibuya-py")
        add_role_type(
            db.session,
            group=group,
            name="片付け (Cleanup)",
            default_headcount=2,
            start_anchor=Anchor.END,
            start_offset_minutes=0,
            end_anchor=Anchor.END,
            end_offset_minutes=30,
            requires_approval=False,
            now=now,
        )
        names = [f"{s} {g} ({gr} {sr})" for s, sr in SURNAMES for g, gr in GIVEN] + ABROAD
        people = [make.user(display_name=name) for name in names[:36]]
        for person in people:
            db.session.add(
                Membership(
                    user_id=person.id,
                    group_id=group.id,
                    role=MemberRole.MEMBER,
                    status=MembershipStatus.ACTIVE,
                    joined_at=now - timedelta(days=500),
                )
            )
        today = now.date()
        first = (today - relativedelta(months=14)).replace(day=1)
        rule = monthly_rule([3], "SA")
        planned = plan_series(
            rule=rule,
            first_day=first,
            months=19,
            start_time=time(10),
            end_time=time(12),
            tz=group.timezone,
            limit=60,
        )
        create_series(
            db.session,
            group=group,
            creator=organizer,
            title="渋谷Python勉強会 月例会",
            rule=rule,
            planned=planned,
            venue="渋谷区民会館 第2会議室 (東京都渋谷区宇田川町5-1)",
            description="LT大会と、もくもく会。初めての方も歓迎です。",
            now=now,
        )
        sessions = db.session.scalars(
            sa.select(StudySession)
            .where(StudySession.group_id == group.id)
            .options(selectinload(StudySession.slots).joinedload(RoleSlot.role_type))
            .order_by(StudySession.starts_at)
        ).all()
        past = [s for s in sessions if s.starts_at < now]
        upcoming = [s for s in sessions if s.starts_at >= now]
        assert len(past) >= 12 and len(upcoming) >= 3, (len(past), len(upcoming))
        for n, session in enumerate(sessions, start=1):
            session.title = f"渋谷Python勉強会 第{n}回 もくもく会とLT大会"
        for i, session in enumerate(past):
            slots = {slot.role_type.key or "cleanup": slot for slot in session.slots}
            crew = {
                "setup": [organizer, people[i % 36], people[(i + 7) % 36]],
                "reception": [people[(i + 13) % 36], people[(i + 19) % 36]],
                "speaker": [people[(i + 23) % 36]],
                "cleanup": [people[(i + 29) % 36], people[(i + 31) % 36]],
            }
            for key, members in crew.items():
                for member in members:
                    place = assign(
                        db.session,
                        organizer=organizer,
                        member=member,
                        slot=slots[key],
                        now=session.starts_at - timedelta(days=7),
                    ).place
                    if key == "speaker":
                        place.talk_title = (
                            "型ヒントで変わるFlaskアプリ: SQLAlchemy 2の型付きモデル入門"
                        )
            if i < len(past) - 1:
                confirm_attendance(db.session, organizer=organizer, session=session, now=now)
        nxt = upcoming[0]
        slots = {slot.role_type.key or "cleanup": slot for slot in nxt.slots}
        slots["reception"].headcount = 1
        for member in people[:2]:
            sign_up(db.session, member=member, slot=slots["setup"], now=now)
        for member in people[2:5]:  # one place, then a waitlist of two
            sign_up(db.session, member=member, slot=slots["reception"], now=now)
        sign_up(
            db.session,
            member=people[5],
            slot=slots["speaker"],
            now=now,
            talk_title="はじめてのOSSコントリビュート: ドキュメント修正からメンテナーになるまで",
            talk_abstract="小さな修正から始めて、レビューの受け方、Issueの書き方まで。",
        )
        db.session.commit()
        year = Year(group.slug, nxt.id, past[-1].id, organizer.email, past[-2].id)
        db.session.remove()
    return year


def _fits(page, name: str, screenshot) -> str | None:
    """None when nothing is wider than the phone, nor hides part of itself behind a scroll
    bar of its own (a table's columns); else what does."""
    screenshot(page, name)
    width = page.evaluate("document.documentElement.scrollWidth")
    # A table may not hide columns behind a scroll of its own either.
    hidden = page.evaluate(
        """() => [...document.querySelectorAll("main *:not(input, textarea, select)")]
             .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 1
                          && getComputedStyle(e).overflowX !== "visible")
             .map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.scrollWidth}px`)"""
    )
    if hidden:
        return f"{name}: scrolls inside {', '.join(hidden)}"
    if width <= PHONE_360["width"]:
        return None
    wide = page.evaluate(
        """(limit) => [...document.querySelectorAll("main *, header *")]
             .filter(e => e.getBoundingClientRect().right > limit + 0.5)
             .slice(0, 3).map(e => `${e.tagName.toLowerCase()}.${e.className}`)""",
        PHONE_360["width"],
    )
    return f"{name}: {width}px wide ({', '.join(wide)})"


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_every_main_page_fits_a_360px_phone(live, new_context, screenshot, locale):
    from playwright.sync_api import expect

    year = _seed_a_year(live.app)
    base, lang, g = live.url, locale[:2], f"/g/{year.slug}"
    context, problems = new_context(locale, PHONE_360)
    page = context.new_page()
    too_wide = []

    for name, path in [("landing", "/"), ("login", "/login"), ("register", "/register")]:
        page.goto(f"{base}{path}")
        too_wide.append(_fits(page, f"fit-{name}-360-{lang}", screenshot))
    page.goto(f"{base}{g}/sessions/{year.next_id}")
    too_wide.append(_fits(page, f"fit-session-visitor-360-{lang}", screenshot))

    _log_in(page, base, year.organizer_email)
    expect(page).to_have_url(f"{base}/")
    pages = [
        ("home", "/"),
        ("group", g),
        ("session", f"{g}/sessions/{year.next_id}"),
        ("schedule", "/schedule"),
        ("coworkers", "/coworkers"),
        ("yearly-list", "/coworkers/year"),
        ("organize", "/organize"),
        ("staffing-overview", f"{g}/staffing"),
        ("session-staffing", f"{g}/sessions/{year.next_id}/staffing"),
        ("past-session-staffing", f"{g}/sessions/{year.past_id}/staffing"),
        ("confirmed-session-staffing", f"{g}/sessions/{year.confirmed_id}/staffing"),
        ("records", f"{g}/records"),
        ("members", f"{g}/members"),
        ("network", f"{g}/network"),
        ("profile", "/profile"),
    ]
    for name, path in pages:
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        too_wide.append(_fits(page, f"fit-{name}-360-{lang}", screenshot))

    assert "\n".join(problem for problem in too_wide if problem) == ""

    # The header is one line with a menu button; the menu opens over the page.
    header = page.locator("header.site nav")
    assert header.bounding_box()["height"] < 60
    page.locator("header.site summary").click()
    expect(page.locator("header.site details.menu ul")).to_be_visible()
    assert _fits(page, f"fit-menu-open-360-{lang}", screenshot) is None
    assert problems.found == []


@pytest.mark.parametrize("locale", ["ja-JP", "en-US"])
def test_the_desktop_header_is_one_line(live, new_context, screenshot, locale):
    """At 1280 px every link of a logged-in organizer and the language switch sit on one line,
    none of them broken over two."""
    year = _seed_a_year(live.app)
    context, problems = new_context(locale, DESKTOP)
    page = context.new_page()
    _log_in(page, live.url, year.organizer_email)
    page.goto(f"{live.url}/g/{year.slug}")
    boxes = page.evaluate(
        """() => [...document.querySelectorAll(
                 "header.site .brand, header.site nav > ul > li, header.site .lang button")]
             .map(e => { const r = e.getBoundingClientRect();
                         return {text: e.innerText, top: r.top, height: r.height}; })"""
    )
    assert len(boxes) >= 9, boxes
    line = boxes[0]["height"] * 1.5
    assert all(box["height"] < line for box in boxes), boxes  # no item wraps
    assert max(b["top"] for b in boxes) - min(b["top"] for b in boxes) < 8, boxes  # one row
    screenshot(page, f"header-desktop-1280-{locale[:2]}")
    assert problems.found == []
