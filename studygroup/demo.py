"""`flask --app wsgi demo`: a believable demo group on an empty database.

A year in the life of 渋谷Python勉強会: thirty members, the monthly meeting on every third
Saturday for the past twelve months (and the next six), a weekly online もくもく会 for the
past two months (and the next two), attendance marked except at the latest meeting, a talk
request waiting for the organizers and a waitlist at the next meeting, a setup place offered
to whoever takes it, and fourteen members who can help with the meeting after that (an
organizer who lets the organizers form the team sees a suggestion at once). The meetings take
participants, and a hands-on today has reception open (studygroup.demo_participants).
"""

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from dateutil.relativedelta import SA, WE, relativedelta
from flask import current_app
from flask.cli import with_appcontext

from studygroup.announcements.models import Audience
from studygroup.announcements.services import send_announcement
from studygroup.auth.models import CoworkersVisibility, User
from studygroup.auth.services import HashCost, hash_password, parse_skills, set_skills
from studygroup.calendar.links import group_subscription, member_subscription
from studygroup.config import DEFAULT_TIMEZONE
from studygroup.db import utcnow
from studygroup.demo_participants import add_guests, add_participants
from studygroup.demo_relationships import birthdays, cards_sent, introductions, thank_you_notes
from studygroup.demo_staffing import can_help, loaded, offered_place, staff_monthly, staff_weekly
from studygroup.extensions import db
from studygroup.groups.models import (
    Anchor,
    Group,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
)
from studygroup.groups.role_types import add_role_type
from studygroup.groups.services import create_group
from studygroup.mail.models import OutboundEmail
from studygroup.sessions.series import create_series, monthly_rule, plan_series, weekly_rule

DEMO_SLUG = "shibuya-py"
DEMO_PASSWORD = "studygroup-demo-2026"  # noqa: S105 (printed for the demo on purpose)
MONTHS_OF_HISTORY = 12  # third Saturdays already held
MONTHS_AHEAD = 6
WEEKS_OF_MOKUMOKU = 8  # weekly evenings already held (and as many to come)

# (email local part, display name, skills, locale)
DEMO_PEOPLE = [
    ("organizer", "佐藤 美咲 (Misaki Sato)", "Python, コミュニティ運営, Django", "ja"),
    ("coorganizer", "Daniel Fischer", "Go, Kubernetes, 英語", "en"),
    ("takahashi", "高橋 健太", "インフラ, AWS, Terraform, Kubernetes", "ja"),
    ("suzuki", "鈴木 花子", "データ分析, pandas, 写真", "ja"),
    ("tanaka", "田中 翔", "フロントエンド, TypeScript", "ja"),
    ("watanabe", "渡辺 愛", "デザイン, アクセシビリティ", "ja"),
    ("ito", "伊藤 大輔", "セキュリティ, Rust", "ja"),
    ("yamamoto", "山本 さくら", "機械学習, Python", "ja"),
    ("nakamura", "中村 悠", "Flask, SQL", "ja"),
    ("kobayashi", "小林 陽菜", "テスト自動化, QA", "ja"),
    ("kato", "加藤 拓海", "モバイル, Kotlin", "ja"),
    ("priya", "Priya Nair", "Data engineering, Airflow", "en"),
    ("yoshida", "吉田 直樹", "Rust, WebAssembly", "ja"),
    ("yamada", "山田 結衣", "広報, イラスト", "ja"),
    ("sasaki", "佐々木 蓮", "Django, PostgreSQL", "ja"),
    ("yamaguchi", "山口 美月", "データ可視化, R", "ja"),
    ("matsumoto", "松本 颯太", "CI/CD, GitHub Actions", "ja"),
    ("inoue", "井上 芽依", "Python入門, 教育", "ja"),
    ("kimura", "木村 大和", "IoT, Raspberry Pi, 生産管理, PLC", "ja"),
    ("hayashi", "林 真央", "自然言語処理, 日本語", "ja"),
    ("shimizu", "清水 悠真", "ゲーム開発, Pygame", "ja"),
    ("teshigawara", "勅使河原 三郎太 (Saburota Teshigawara)", "数理最適化, OR", "ja"),
    ("ikeda", "池田 莉子", "テスト, pytest", "ja"),
    ("hashimoto", "橋本 陽翔", "スクレイピング, 自動化", "ja"),
    ("abe", "阿部 葵", "統計, 因果推論", "ja"),
    ("ishikawa", "石川 湊", "Web API, FastAPI", "ja"),
    ("goto", "後藤 恵", "写真, 会場手配, 生産管理", "ja"),
    ("maria", "Maria Garcia", "Data science, Spanish", "en"),
    ("alexandra", "Alexandra Konstantinopoulou", "Accessibility, UX research", "en"),
    ("chen", "Chen Wei", "Distributed systems, Go, Kubernetes", "en"),
]

# Readings (ふりがな) that most Japanese members gave on their profile, so lists sort in
# 50-音 order; a few left it empty, as real members do.
DEMO_READINGS = {
    "organizer": "さとう みさき",
    "takahashi": "たかはし けんた",
    "suzuki": "すずき はなこ",
    "tanaka": "たなか しょう",
    "watanabe": "わたなべ あい",
    "ito": "いとう だいすけ",
    "yamamoto": "やまもと さくら",
    "nakamura": "なかむら ゆう",
    "kobayashi": "こばやし ひな",
    "kato": "かとう たくみ",
    "yoshida": "よしだ なおき",
    "yamada": "やまだ ゆい",
    "sasaki": "ささき れん",
    "yamaguchi": "やまぐち みづき",
    "matsumoto": "まつもと そうた",
    "inoue": "いのうえ めい",
    "kimura": "きむら やまと",
    "hayashi": "はやし まお",
    "teshigawara": "てしがわら さぶろうた",
    "ikeda": "いけだ りこ",
    "abe": "あべ あおい",
    "ishikawa": "いしかわ みなと",
}


def third_saturday(day: date) -> date:
    return day.replace(day=1) + relativedelta(weekday=SA(+3))


@click.command("demo")
@click.option("--force", is_flag=True, help="Allow it in production (demo passwords are public).")
@with_appcontext
def demo_command(force: bool) -> None:
    """Fill an empty database with a demo group and print the demo logins."""
    if current_app.config["ENV_NAME"] == "production" and not force:
        raise click.ClickException(
            "The demo's passwords are public: it is not added in production without --force."
        )
    if db.session.scalar(sa.select(sa.func.count()).select_from(User)):
        click.echo("The database already has users: the demo was not added.")
        _print_logins()
        _print_feeds()
        return
    now = utcnow()
    cost = HashCost.from_config(current_app.config)
    # One hash for every demo account: the same password, and demo set-up stays quick.
    password_hash = hash_password(DEMO_PASSWORD, cost)
    users = []
    for local, name, skills, locale in DEMO_PEOPLE:
        user = User(
            email=f"{local}@example.com",
            password_hash=password_hash,
            display_name=name,
            reading=DEMO_READINGS.get(local),
            locale=locale,
            timezone=DEFAULT_TIMEZONE,
            bio="",
        )
        db.session.add(user)
        users.append((user, skills))
    guests = add_guests(password_hash)
    db.session.flush()
    for user, skills in users:
        set_skills(db.session, user, parse_skills(skills))
    # One member keeps their co-working page to themselves and their name off others' pages.
    private = next(u for u, _ in users if u.email.startswith("ito@"))
    private.coworkers_visibility = CoworkersVisibility.ONLY_ME
    private.appear_by_name = False

    organizer = users[0][0]
    group = create_group(
        db.session,
        creator=organizer,
        name="渋谷Python勉強会 (Shibuya.py)",
        slug=DEMO_SLUG,
        description=(
            "毎月第3土曜日に渋谷で開く、Python とその周辺技術の勉強会です。"
            "設営・受付・登壇、どなたでも歓迎します。毎週水曜の夜はオンラインでもくもく会。\n\n"
            "A monthly Python study group in Shibuya, every 3rd Saturday, and an online "
            "co-working evening every Wednesday. Volunteers for setup, reception and talks "
            "are always welcome."
        ),
        timezone=DEFAULT_TIMEZONE,
        default_venue="渋谷区民会館 第2会議室",
        join_policy=JoinPolicy.OPEN,
        visibility=Visibility.PUBLIC,
        now=now,
    )
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
    for i, (user, _skills) in enumerate(users[1:], start=1):
        db.session.add(
            Membership(
                user_id=user.id,
                group_id=group.id,
                role=MemberRole.ORGANIZER if i == 1 else MemberRole.MEMBER,
                status=MembershipStatus.ACTIVE,
                # The first dozen have been there from the start; the rest joined over the year.
                joined_at=now - timedelta(days=400 - max(0, i - 11) * 15),
            )
        )
    monthly = _monthly_meetings(group, organizer, now)
    weekly = _mokumoku_evenings(group, organizer, now)
    db.session.flush()
    people = {u.email.split("@")[0]: u for u, _ in users}
    staff_monthly(monthly, people, organizer, now)
    staff_weekly(weekly, people, organizer, now)
    can_help(monthly, weekly, people, now)
    offered_place(monthly, people, now)
    thank_you_notes(monthly, people, now)
    introductions(people, now)
    cards_sent(organizer, now)
    birthdays(people, now)
    add_participants(loaded(monthly), group, people, guests, organizer, now)
    _announcement(monthly, organizer, now)
    db.session.commit()
    click.echo(
        f"Demo group '{group.name}' with {len(users)} members and "
        f"{len(monthly) + len(weekly) + 1} sessions (one today)."
    )
    _print_logins()
    _print_feeds()


def _monthly_meetings(group, organizer, now):
    """Every third Saturday: the last twelve held, the next six to come."""
    today = now.astimezone(ZoneInfo(group.timezone)).date()
    latest = third_saturday(today)
    if latest >= today:
        latest = third_saturday(today.replace(day=1) - relativedelta(months=1))
    first = latest.replace(day=1) - relativedelta(months=MONTHS_OF_HISTORY - 1)
    rule = monthly_rule([3], "SA")
    planned = plan_series(
        rule=rule,
        first_day=first,
        months=MONTHS_OF_HISTORY + MONTHS_AHEAD,
        start_time=time(10, 0),
        end_time=time(12, 0),
        tz=group.timezone,
        limit=60,
    )
    sessions = create_series(
        db.session,
        group=group,
        creator=organizer,
        title="渋谷Python勉強会 月例会",
        rule=rule,
        planned=planned,
        venue=group.default_venue,
        description="LT大会と、もくもく会。初めての方も歓迎です。",
        now=now,
    )
    for number, session in enumerate(sessions, start=1):
        session.title = f"渋谷Python勉強会 第{number}回"
    return sessions


def _mokumoku_evenings(group, organizer, now):
    """Every Wednesday evening online, with one host: the last eight weeks and the next eight."""
    roles = db.session.scalars(sa.select(RoleType).where(RoleType.group_id == group.id)).all()
    # Only a host (reception) is needed: no room to set up, no talk, nothing to tidy.
    headcounts = {r.id: (1 if r.key == "reception" else 0) for r in roles}
    first = now.date() - timedelta(weeks=WEEKS_OF_MOKUMOKU) + relativedelta(weekday=WE(+1))
    rule = weekly_rule("WE")
    planned = plan_series(
        rule=rule,
        first_day=first,
        months=4,
        start_time=time(19, 30),
        end_time=time(21, 0),
        tz=group.timezone,
        limit=60,
    )
    planned = [p for p in planned if p.starts_at.date() < first + timedelta(weeks=16)]
    return create_series(
        db.session,
        group=group,
        creator=organizer,
        title="もくもく会 (オンライン)",
        rule=rule,
        planned=planned,
        venue="オンライン (Discord)",
        description="各自の作業を進める会です。最初に一言ずつ、今日やることを話します。",
        headcounts=headcounts,
        now=now,
    )


def _announcement(sessions, organizer, now) -> None:
    """Two announcements in both languages: to the people of the next monthly meeting (its
    participants and staff) and, earlier, to the whole group. Each reader finds them on the
    session and group pages in their language. Their emails are not kept (the demo sends
    none)."""
    upcoming = min((s for s in loaded(sessions) if s.starts_at > now), key=lambda s: s.starts_at)
    send_announcement(
        db.session,
        author=organizer,
        group=upcoming.group,
        session=None,
        audience=Audience.GROUP,
        subject_ja="年末LT大会の登壇者を募集しています",
        body_ja=(
            "12月の月例会は年末LT大会です。5分のLTをしてくださる方を募集しています。\n"
            "開催回のページの「登壇者」から申請してください。"
        ),
        subject_en="Speakers wanted for the year-end lightning talks",
        body_en=(
            "December's meeting is our year-end lightning talk night. We are looking for "
            "5-minute talks: offer one under Speaker on the session's page."
        ),
        now=now - timedelta(days=2),
    )
    send_announcement(
        db.session,
        author=organizer,
        group=upcoming.group,
        session=upcoming,
        audience=Audience.SESSION,
        subject_ja="会場は2階の第2会議室です",
        body_ja=(
            "今回は2階の第2会議室で開催します。エレベーターを降りて右手です。\n"
            "設営の方は9時に、受付の方は9時半にお集まりください。"
        ),
        subject_en="We meet in room 2 on the second floor",
        body_en=(
            "This time we meet in room 2 on the second floor, to the right of the lift.\n"
            "Setup starts at 9:00 and reception at 9:30."
        ),
        now=now - timedelta(hours=1),
    )
    db.session.execute(sa.delete(OutboundEmail).where(OutboundEmail.kind == "announcement"))
    db.session.info.pop("queued_emails", None)


def _print_logins() -> None:
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    click.echo("  organizer@example.com    organizer of Shibuya.py")
    click.echo("  coorganizer@example.com  co-organizer")
    click.echo("  suzuki@example.com       member (sets up the room every month)")
    click.echo("  ito@example.com          member who keeps co-working private")
    click.echo("  tanaka@example.com       member who offers his setup place at the next meeting")
    click.echo("  watanabe@example.com     reception today: checks participants in on a phone")
    click.echo("  maria@example.com        participant today (reads English): her QR code")


def _print_feeds() -> None:
    """Calendar URLs to subscribe to right away (PUBLIC_BASE_URL, else the development server)."""
    group = db.session.scalar(sa.select(Group).where(Group.slug == DEMO_SLUG))
    suzuki = db.session.scalar(sa.select(User).where(User.email == "suzuki@example.com"))
    if group is None or suzuki is None:
        return
    lang = current_app.config["DEFAULT_READER_LOCALE"]
    click.echo("Calendar feeds (subscribe in any calendar app):")
    click.echo(f"  group {group.name}: {group_subscription(group, None, None, lang=lang).url}")
    click.echo(
        f"  suzuki@example.com's places (private): {member_subscription(suzuki, lang=lang).url}"
    )
