"""The demo's participants (参加者), check-ins and today's hands-on (studygroup.demo).

Every monthly meeting takes 40 participants with two questions: the past ones had 20-35
registered, most checked in at reception and a few no-shows; the next one has about 25 and
room for more. Today (Tokyo) an afternoon hands-on is full with two on the waitlist and a few
already checked in by Watanabe at reception, so the check-in page opens at once. Written
through the participants' and check-in services with past `now` values, as it happened.
"""

import random
from contextlib import contextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.checkin.services import check_in, check_in_staff
from studygroup.config import DEFAULT_TIMEZONE
from studygroup.demo_staffing import loaded, places_of, slots_of
from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.participants.models import ParticipantStatus, QuestionKind
from studygroup.participants.organize import add_question, change_participant_settings
from studygroup.participants.services import register
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.sessions.services import create_session
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.signups.organizing import answer_request, assign
from studygroup.signups.services import sign_up

MONTHLY_CAPACITY = 40
AFFILIATION = "ご所属（会社・学校など）"
PARTY = "懇親会に参加しますか？"
AFFILIATIONS = (
    "株式会社スタディ",
    "渋谷テック",
    "フリーランス",
    "東京工科大学",
    "Mercari",
    "個人",
    "データ分析ラボ",
    "",
)

TODAY_TITLE = "Python ハンズオン：はじめての Flask"
TODAY_CAPACITY = 20
TODAY_CHECKED_IN = 5  # participants; and the setup crew and Watanabe herself
TODAY_RECEPTION = "watanabe"  # the printed "reception today" login
TODAY_SETUP = ("matsumoto", "chen", "hashimoto")
TODAY_SPEAKER = "nakamura"
# Registered for today, not checked in yet: the printed participant login, to show the QR code.
TODAY_PARTICIPANT = "maria"
NEXT_REGISTERED = 25
# Not registered for the next meeting: the browser walk registers her.
NOT_REGISTERED_NEXT = "kobayashi"

# People who come to the meetings without joining the group (it lets anyone with an account
# register): (email local part, name, reading, locale).
GUESTS = [
    ("okada", "岡田 誠", "おかだ まこと", "ja"),
    ("fujita", "藤田 彩", "ふじた あや", "ja"),
    ("ogawa", "小川 健", "おがわ けん", "ja"),
    ("murakami", "村上 千尋", "むらかみ ちひろ", "ja"),
    ("kondo", "近藤 翼", "こんどう つばさ", "ja"),
    ("ishii", "石井 美穂", "いしい みほ", "ja"),
    ("saito", "斎藤 陸", "さいとう りく", "ja"),
    ("sakamoto", "坂本 楓", "さかもと かえで", "ja"),
    ("endo", "遠藤 亮", "えんどう りょう", "ja"),
    ("aoki", "青木 七海", "あおき ななみ", "ja"),
    ("fujii", "藤井 蒼", "ふじい あおい", "ja"),
    ("nishimura", "西村 奈央", "にしむら なお", "ja"),
    ("fukuda", "福田 隼", "ふくだ しゅん", "ja"),
    ("ota", "太田 理沙", "おおた りさ", "ja"),
    ("miura", "三浦 航", None, "ja"),
    ("okamoto", "岡本 杏", "おかもと あん", "ja"),
    ("matsuda", "松田 優斗", "まつだ ゆうと", "ja"),
    ("nakagawa", "中川 結菜", None, "ja"),
    ("tom", "Tom Becker", None, "en"),
    ("sofia", "Sofia Rossi", None, "en"),
    ("lee", "Lee Min-jun", None, "en"),
    ("nguyen", "Nguyen Thi Lan", None, "en"),
]


def add_guests(password_hash: str) -> list[User]:
    """The guests' accounts (no membership: they take part as participants only)."""
    guests = [
        User(
            email=f"{local}@example.com",
            password_hash=password_hash,
            display_name=name,
            reading=reading,
            locale=locale,
            timezone=DEFAULT_TIMEZONE,
            bio="",
        )
        for local, name, reading, locale in GUESTS
    ]
    db.session.add_all(guests)
    return guests


def _ask(session, now) -> tuple[int, int]:
    affiliation = add_question(
        db.session, session, text=AFFILIATION, kind=QuestionKind.TEXT, required=False, now=now
    )
    party = add_question(
        db.session, session, text=PARTY, kind=QuestionKind.YES_NO, required=True, now=now
    )
    return affiliation.id, party.id


def _take(session, capacity: int, now: datetime) -> None:
    change_participant_settings(
        db.session, session, takes=True, capacity=capacity, cancel_hours_before=24, now=now
    )


def _register_all(rng, session, members, questions, *, first: datetime, last: datetime):
    """Register `members` one after the other between `first` and `last` (in line order)."""
    affiliation, party = questions
    step = (last - first) / max(len(members), 1)
    registered = []
    for n, member in enumerate(members):
        answers = {affiliation: rng.choice(AFFILIATIONS), party: rng.choice(("yes", "yes", "no"))}
        registered.append(
            register(
                db.session, member=member, session=session, answers=answers, now=first + step * n
            )
        )
    return registered


def _staff_of(session) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Assignment.user_id)
            .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
            .where(
                RoleSlot.session_id == session.id,
                Assignment.status == AssignmentStatus.CONFIRMED,
            )
        )
    )


@contextmanager
def _quiet(users):
    """Registration emails off while the history is written: the demo sends none, and
    composing four hundred messages only to delete them doubled the demo's time."""
    kept = [(u, u.email_signups, u.email_waitlist) for u in users]
    for user, _signups, _waitlist in kept:
        user.email_signups = user.email_waitlist = False
    try:
        yield
    finally:
        for user, signups, waitlist in kept:
            user.email_signups, user.email_waitlist = signups, waitlist


def add_participants(monthly, group, people: dict, guests: list[User], organizer, now) -> None:
    """Participants at every monthly meeting (`monthly` loaded with its slots) and today's
    hands-on. No email is kept (the demo sends none)."""
    members = [u for key, u in people.items() if key != "organizer"]
    with _quiet(members + guests):
        _add_participants(monthly, group, people, members, guests, organizer, now)
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)


def _add_participants(monthly, group, people, members, guests, organizer, now) -> None:
    rng = random.Random(12)  # the same demo every time
    group.participants_open_to_all = True
    upcoming = [s for s in monthly if s.starts_at >= now]
    # Read before the services lock (and so reload) the sessions.
    receptionists = {s.id: _receptionist(s) for s in monthly if s.starts_at < now}
    for session in monthly:
        # Registration opens a month ahead (for the next meeting at least ten days ago).
        opened = min(session.starts_at - timedelta(days=30), now - timedelta(days=10))
        _take(session, MONTHLY_CAPACITY, opened)
        questions = _ask(session, opened)
        staff = _staff_of(session)
        pool = [u for u in members + guests if u.id not in staff]
        if session.starts_at < now:
            who = rng.sample(pool, min(rng.randint(20, 35), len(pool)))
        elif session is upcoming[0]:
            pool = [u for u in pool if u is not people[NOT_REGISTERED_NEXT]]
            who = rng.sample(pool, NEXT_REGISTERED)
        else:
            continue
        last = min(session.starts_at - timedelta(days=1), now - timedelta(hours=2))
        registered = _register_all(rng, session, who, questions, first=opened, last=last)
        if session.starts_at >= now:
            continue
        # Most came; a few did not (no-shows), checked in by reception as they arrived.
        receptionist = receptionists.get(session.id) or organizer
        came = [p for p in registered if rng.random() > 0.12]
        for n, participant in enumerate(came):
            check_in(
                db.session,
                session=session,
                code=participant.code,
                by=receptionist,
                now=session.starts_at - timedelta(minutes=15) + timedelta(seconds=40 * n),
            )
    _today(group, people, members + guests, organizer, now, rng)


def _receptionist(session) -> User | None:
    return next(
        (
            db.session.get(User, place.user_id)
            for place in places_of(slots_of(session)["reception"])
            if place.status == AssignmentStatus.CONFIRMED
        ),
        None,
    )


def today_bounds(group, now: datetime) -> tuple[datetime, datetime]:
    """Today's hands-on: 14:00-17:00 in the group's zone on today's date there (still today
    when the demo runs late in the evening in Tokyo, so reception can open its page)."""
    zone = ZoneInfo(group.timezone)
    day = now.astimezone(zone).date()
    return datetime.combine(day, time(14), zone), datetime.combine(day, time(17), zone)


def _today(group, people, everyone, organizer, now, rng) -> None:
    """Full with two on the waitlist, staffed (Watanabe at reception), five checked in, and
    the staff who are there (all but the speaker)."""
    starts, ends = today_bounds(group, now)
    posted = now - timedelta(days=21)
    session = create_session(
        db.session,
        group=group,
        title=TODAY_TITLE,
        starts_at=starts,
        ends_at=ends,
        venue="渋谷区民会館 第1会議室",
        description=(
            "Flask で小さな Web アプリを作りながら、ルーティング、テンプレート、フォームを"
            "学びます。ノート PC をお持ちください。"
        ),
        now=posted,
    )
    db.session.flush()

    [session] = loaded([session])
    slots = slots_of(session)
    before = starts - timedelta(days=7)
    arrived = [
        sign_up(db.session, member=people[name], slot=slots["setup"], now=before)
        for name in TODAY_SETUP
    ]
    arrived.append(
        assign(
            db.session,
            organizer=organizer,
            member=people[TODAY_RECEPTION],
            slot=slots["reception"],
            now=before,
        ).place
    )
    talk = sign_up(
        db.session,
        member=people[TODAY_SPEAKER],
        slot=slots["speaker"],
        now=before,
        talk_title="はじめての Flask：ルーティングからフォームまで",
        talk_abstract="90 分で小さな掲示板を作ります。",
    )
    answer_request(db.session, organizer=organizer, place=talk, approve=True, now=before)

    _take(session, TODAY_CAPACITY, posted)
    questions = _ask(session, posted)
    staff = {people[n].id for n in (*TODAY_SETUP, TODAY_RECEPTION, TODAY_SPEAKER)}
    pool = [u for u in everyone if u.id not in staff and u is not people[TODAY_PARTICIPANT]]
    who = rng.sample(pool, TODAY_CAPACITY + 1)
    who.insert(7, people[TODAY_PARTICIPANT])  # registered early: she has a seat
    registered = _register_all(
        rng, session, who, questions, first=posted, last=min(now, starts) - timedelta(hours=3)
    )
    assert sum(p.status == ParticipantStatus.WAITLISTED for p in registered) == 2
    first_come = [
        p
        for p in registered
        if p.status == ParticipantStatus.REGISTERED and p.user_id != people[TODAY_PARTICIPANT].id
    ]
    for place in arrived:
        check_in_staff(db.session, place=place, by=people[TODAY_RECEPTION], now=now)
    for participant in first_come[:TODAY_CHECKED_IN]:
        check_in(
            db.session,
            session=session,
            code=participant.code,
            by=people[TODAY_RECEPTION],
            now=now,
        )


def today_session(db_session):
    """Today's hands-on (tests and the printed logins find it by its title)."""
    return db_session.scalar(sa.select(StudySession).where(StudySession.title == TODAY_TITLE))
