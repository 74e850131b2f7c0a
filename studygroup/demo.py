"""`flask --app wsgi demo`: a believable demo group on an empty database."""

from datetime import date, time, timedelta

import click
import sqlalchemy as sa
from dateutil.relativedelta import SA, relativedelta
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import selectinload

from studygroup.auth.models import CoworkersVisibility, User
from studygroup.auth.services import HashCost, hash_password, parse_skills, set_skills
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import (
    Anchor,
    Group,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    Visibility,
)
from studygroup.groups.services import add_role_type, create_group
from studygroup.sessions.services import create_series, monthly_rule, plan_series

DEMO_SLUG = "shibuya-py"
DEMO_PASSWORD = "studygroup-demo-2026"  # noqa: S105 (printed for the demo on purpose)

# (email local part, display name, skills, locale)
DEMO_PEOPLE = [
    ("organizer", "佐藤 美咲 (Misaki Sato)", "Python, コミュニティ運営, Django", "ja"),
    ("coorganizer", "Daniel Fischer", "Go, Kubernetes, 英語", "en"),
    ("takahashi", "高橋 健太", "インフラ, AWS, Terraform", "ja"),
    ("suzuki", "鈴木 花子", "データ分析, pandas, 写真", "ja"),
    ("tanaka", "田中 翔", "フロントエンド, TypeScript", "ja"),
    ("watanabe", "渡辺 愛", "デザイン, アクセシビリティ", "ja"),
    ("ito", "伊藤 大輔", "セキュリティ, Rust", "ja"),
    ("yamamoto", "山本 さくら", "機械学習, Python", "ja"),
    ("nakamura", "中村 悠", "Flask, SQL", "ja"),
    ("kobayashi", "小林 陽菜", "テスト自動化, QA", "ja"),
    ("kato", "加藤 拓海", "モバイル, Kotlin", "ja"),
    ("priya", "Priya Nair", "Data engineering, Airflow", "en"),
]


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
            locale=locale,
            timezone="Asia/Tokyo",
            bio="",
        )
        db.session.add(user)
        users.append((user, skills))
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
            "設営・受付・登壇、どなたでも歓迎します。\n\n"
            "A monthly Python study group in Shibuya, every 3rd Saturday. "
            "Volunteers for setup, reception and talks are always welcome."
        ),
        timezone="Asia/Tokyo",
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
                joined_at=now - timedelta(days=400 - i * 10),
            )
        )
    # Exactly six past third Saturdays, then seven to come: "6 sessions together" on the pages.
    today = now.date()
    latest = (
        today.replace(day=1)
        if third_saturday(today) < today
        else (today.replace(day=1) - relativedelta(months=1))
    )
    first = latest - relativedelta(months=5)
    rule = monthly_rule([3], "SA")
    planned = plan_series(
        rule=rule,
        first_day=first,
        months=13,
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
    db.session.flush()
    _staff_demo_sessions(sessions, [u for u, _ in users], organizer, now)
    db.session.commit()
    click.echo(f"Demo group '{group.name}' with {len(users)} members and {len(sessions)} sessions.")
    _print_logins()
    _print_feeds()


def _staff_demo_sessions(sessions, people, organizer, now) -> None:
    """Past sessions worked (the same three set up the room every month), upcoming ones
    partly staffed, so the staffing view shows gaps and the history reads true."""
    from studygroup.mail.models import OutboundEmail
    from studygroup.sessions.models import RoleSlot, StudySession
    from studygroup.signups.services import (
        answer_request,
        assign,
        confirm_attendance,
        sign_up,
    )

    by_local = {u.email.split("@")[0]: u for u in people}
    setup_crew = [by_local[n] for n in ("takahashi", "suzuki", "tanaka")]
    others = [u for u in people if u not in setup_crew and u is not organizer]
    sessions = db.session.scalars(
        sa.select(StudySession)
        .where(StudySession.id.in_([s.id for s in sessions]))
        .options(selectinload(StudySession.slots).joinedload(RoleSlot.role_type))
        .order_by(StudySession.starts_at)
        .execution_options(populate_existing=True)
    ).all()
    past = [s for s in sessions if s.starts_at < now]
    upcoming = [s for s in sessions if s.starts_at >= now]
    for i, session in enumerate(past):
        slots = {slot.role_type.key or "cleanup": slot for slot in session.slots}
        crew = {
            "setup": setup_crew,
            "reception": [others[i % len(others)], others[(i + 3) % len(others)]],
            "speaker": [others[(i + 5) % len(others)]],
            "cleanup": [others[(i + 1) % len(others)], organizer],
        }
        for key, members in crew.items():
            slot = slots.get(key)
            for member in members:
                if slot is not None:
                    place = assign(
                        db.session,
                        organizer=organizer,
                        member=member,
                        slot=slot,
                        now=session.starts_at - timedelta(days=7),
                    ).place
                    if key == "speaker":
                        place.talk_title = f"{member.display_name.split(' (')[0]}のLT"
        if i < len(past) - 1:  # the latest one still waits for the organizer's confirmation
            confirm_attendance(db.session, organizer=organizer, session=session, now=now)
    if upcoming:
        # The next session: reception needs one more person, setup is nearly full.
        nxt = upcoming[0]
        slots = {slot.role_type.key or "cleanup": slot for slot in nxt.slots}
        for member in setup_crew[:2]:
            sign_up(db.session, member=member, slot=slots["setup"], now=now)
        sign_up(db.session, member=others[0], slot=slots["reception"], now=now)
        talk = sign_up(
            db.session,
            member=others[1],
            slot=slots["speaker"],
            now=now,
            talk_title="型ヒントで変わるFlaskアプリ",
            talk_abstract="SQLAlchemy 2の型付きモデルの話",
        )
        answer_request(db.session, organizer=organizer, place=talk, approve=True, now=now)
    if len(upcoming) > 1:
        later = upcoming[1]
        speaker = next(s for s in later.slots if s.role_type.key == "speaker")
        sign_up(
            db.session,
            member=others[2],
            slot=speaker,
            now=now,
            talk_title="はじめてのOSSコントリビュート",
            talk_abstract="",
        )
    # Seeding is not news: nobody gets the emails these sign-ups would send.
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)


def _print_logins() -> None:
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    click.echo("  organizer@example.com    organizer of Shibuya.py")
    click.echo("  coorganizer@example.com  co-organizer")
    click.echo("  suzuki@example.com       member (sets up the room every month)")
    click.echo("  ito@example.com          member who keeps co-working private")


def _print_feeds() -> None:
    """Calendar URLs to subscribe to right away (PUBLIC_BASE_URL, else the development server)."""
    from studygroup.calendar.links import group_subscription, member_subscription

    group = db.session.scalar(sa.select(Group).where(Group.slug == DEMO_SLUG))
    suzuki = db.session.scalar(sa.select(User).where(User.email == "suzuki@example.com"))
    if group is None or suzuki is None:
        return
    lang = current_app.config["MAIL_DEFAULT_LOCALE"]
    click.echo("Calendar feeds (subscribe in any calendar app):")
    click.echo(f"  group {group.name}: {group_subscription(group, None, None, lang=lang).url}")
    click.echo(
        f"  suzuki@example.com's places (private): {member_subscription(suzuki, lang=lang).url}"
    )
