"""The demo's staffing (studygroup.demo): who did what at a year of meetings and evenings.

Written through the sign-up services with past `now` values, as it happened: the monthly crew
(setup, reception in turns, talks going round, a few no-shows), the Wednesday hosts, the next
meeting nearly staffed with a waitlist and a talk request, "I can help" for the one after,
and a setup place offered. `loaded`, `slots_of` and `places_of` serve the other demo modules.
"""

import random
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from studygroup.extensions import db
from studygroup.mail.models import OutboundEmail
from studygroup.sessions.models import RoleSlot, SessionSeries, StudySession
from studygroup.signups.availability_changes import set_availability, set_series_availability
from studygroup.signups.models import Assignment, AssignmentStatus, Attendance, Availability
from studygroup.signups.offers import offer_place
from studygroup.signups.organizing import answer_request, assign, confirm_attendance, set_attendance
from studygroup.signups.services import sign_up

# Who does what at the monthly meeting: the same three set up the room every month, a pool
# takes turns at reception and cleanup, and the talks go round (a regular crew makes the
# clusters the network picture shows).
SETUP_CREW = ("takahashi", "suzuki", "tanaka")
RECEPTION = ("watanabe", "kobayashi", "yamada", "inoue", "ikeda", "goto", "maria", "abe")
# At reception for the first four meetings of the year, then away (a new job) until she signs
# up again for a coming one: the demo's "Not seen for a while" (relationships.reconnect).
AWAY = "goto"
AWAY_UNTIL = 4
CLEANUP = ("kimura", "matsumoto", "shimizu", "hashimoto", "chen")
SPEAKERS = (
    "yamamoto", "nakamura", "priya", "yoshida", "sasaki", "yamaguchi", "hayashi",
    "teshigawara", "ishikawa", "kato", "alexandra", "coorganizer",
)  # fmt: skip
MOKUMOKU_HOSTS = ("nakamura", "sasaki", "hayashi", "ishikawa")
TALKS = (
    "pandasで始める家計簿分析",
    "Flask 3 と型ヒント",
    "Airflow in production: lessons learned",
    "RustでPythonを速くする",
    "Django ORM のクエリを減らす",
    "Rで描くか、Pythonで描くか",
    "日本語の形態素解析入門",
    "数理最適化でシフトを組む",
    "FastAPIでつくる社内API",
    "Kotlin から見た Python",
    "Accessible dashboards",
    "Kubernetes for study groups",
)


# "I can help" (お手伝いできます) for the meeting after next: (member, roles they prefer or None
# for any, note). An organizer who switches the group to forming the team sees a suggestion
# at once, with new pairs, first-timers beside someone experienced and the ones who waited.
CAN_HELP = [
    ("takahashi", None, ""),
    ("suzuki", None, ""),
    ("tanaka", ("setup",), ""),
    ("kimura", ("setup", "cleanup"), ""),
    ("hayashi", ("reception",), "11時まで参加できます"),
    ("shimizu", None, "初めてですが、何でもやります"),
    ("priya", ("reception",), "Happy to welcome English speakers"),
    ("chen", ("setup", "cleanup"), ""),
    ("ikeda", ("reception",), ""),
    ("abe", None, ""),
    ("matsumoto", ("cleanup",), ""),
    ("yoshida", ("setup",), "机の配置、任せてください"),
    ("maria", None, ""),
    ("kato", None, ""),
    ("teshigawara", None, "受付は初めてです"),
]
# Offered help for the two latest meetings and got no place: the suggestion seats them first.
# (Neither has had a place since: a place at any session of the group ends such a streak.)
WAITED = ("shimizu", "teshigawara")
# Usually available for the Wednesday evenings (定期開催でだいたい参加できる).
USUALLY_MOKUMOKU = ("ishikawa", "hashimoto")


def loaded(sessions):
    """The sessions again with their slots and roles, oldest first."""
    return db.session.scalars(
        sa.select(StudySession)
        .where(StudySession.id.in_([s.id for s in sessions]))
        .options(selectinload(StudySession.slots).joinedload(RoleSlot.role_type))
        .order_by(StudySession.starts_at)
        .execution_options(populate_existing=True)
    ).all()


def slots_of(session) -> dict:
    return {slot.role_type.key or "cleanup": slot for slot in session.slots}


def staff_monthly(sessions, people, organizer, now) -> None:
    """A year worked (attendance confirmed, a few no-shows, the latest still to confirm), the
    next meeting nearly staffed with a waitlist at setup, and a talk request to answer."""
    rng = random.Random(2026)  # the same demo every time
    sessions = loaded(sessions)
    past = [s for s in sessions if s.starts_at < now]
    upcoming = [s for s in sessions if s.starts_at >= now]
    for i, session in enumerate(past):
        slots = slots_of(session)
        crew = {
            "setup": [people[n] for n in SETUP_CREW],
            "reception": _reception(rng, people, i),
            "speaker": [people[SPEAKERS[i % len(SPEAKERS)]]],
            "cleanup": [organizer, people[rng.choice(CLEANUP)]],
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
                    place.talk_title = TALKS[i % len(TALKS)]
        if i in (3, 8):  # someone at reception did not come
            set_attendance(
                db.session,
                organizer=organizer,
                place=next(p for p in places_of(slots["reception"])),
                attendance=Attendance.NO_SHOW,
                now=now,
            )
        if i < len(past) - 1:  # the latest one still waits for the organizer's confirmation
            confirm_attendance(db.session, organizer=organizer, session=session, now=now)
    if upcoming:
        # The next meeting: setup is full with one on the waitlist, reception needs one more,
        # the talk is approved.
        slots = slots_of(upcoming[0])
        for name in (*SETUP_CREW, "kimura"):
            sign_up(db.session, member=people[name], slot=slots["setup"], now=now)
        sign_up(db.session, member=people["watanabe"], slot=slots["reception"], now=now)
        talk = sign_up(
            db.session,
            member=people["yamamoto"],
            slot=slots["speaker"],
            now=now,
            talk_title="型ヒントで変わるFlaskアプリ",
            talk_abstract="SQLAlchemy 2の型付きモデルの話",
        )
        answer_request(db.session, organizer=organizer, place=talk, approve=True, now=now)
    if len(upcoming) > 1:
        later = slots_of(upcoming[1])
        # Back after a long break: the setup crew's "Not seen for a while" names her, with
        # this meeting.
        sign_up(db.session, member=people[AWAY], slot=later["reception"], now=now)
        # A talk request the organizers have not answered yet.
        sign_up(
            db.session,
            member=people["inoue"],
            slot=later["speaker"],
            now=now,
            talk_title="はじめてのOSSコントリビュート",
            talk_abstract="初めてプルリクエストを送るまでにつまずいたこと",
        )
    # Seeding is not news: nobody gets the emails these sign-ups would send.
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)


def _reception(rng, people, i: int) -> list:
    """Two of the pool each month; `AWAY` in the first months only (then away for a while)."""
    pool = [n for n in RECEPTION if n != AWAY]
    if i < AWAY_UNTIL:
        return [people[AWAY], people[rng.choice(pool)]]
    return [people[n] for n in rng.sample(pool, 2)]


def places_of(slot):
    return db.session.scalars(
        sa.select(Assignment).where(Assignment.slot_id == slot.id).order_by(Assignment.id)
    )


def staff_weekly(sessions, people, organizer, now) -> None:
    """Each past evening had its host; the coming ones are partly taken."""
    sessions = loaded(sessions)
    for i, session in enumerate(s for s in sessions if s.starts_at < now):
        host = people[MOKUMOKU_HOSTS[i % len(MOKUMOKU_HOSTS)]]
        slot = slots_of(session)["reception"]
        assign(db.session, organizer=organizer, member=host, slot=slot, now=session.starts_at)
        confirm_attendance(db.session, organizer=organizer, session=session, now=now)
    for i, session in enumerate([s for s in sessions if s.starts_at >= now][:3]):
        host = people[MOKUMOKU_HOSTS[i % len(MOKUMOKU_HOSTS)]]
        sign_up(db.session, member=host, slot=slots_of(session)["reception"], now=now)
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)


def can_help(monthly, weekly, people, now) -> None:
    """Members who said they can help with the meeting after next (`CAN_HELP`), two who
    offered help for the latest two meetings and got no place (`WAITED`), and two usually
    available for the Wednesday evenings."""
    sessions = loaded(monthly)
    past = [s for s in sessions if s.starts_at < now]
    upcoming = [s for s in sessions if s.starts_at >= now]
    for session in past[-2:]:
        for name in WAITED:
            # Written as it was then: the offer stands, and no place came of it.
            db.session.add(
                Availability(
                    user_id=people[name].id,
                    session_id=session.id,
                    created_at=session.starts_at - timedelta(days=14),
                )
            )
    if len(upcoming) > 1:
        session = upcoming[1]
        roles = {key: slot.role_type_id for key, slot in slots_of(session).items()}
        for name, keys, note in CAN_HELP:
            set_availability(
                db.session,
                member=people[name],
                session=session,
                any_role=keys is None,
                role_type_ids=[roles[k] for k in keys or ()],
                note=note,
                now=now,
            )
    series = db.session.get(SessionSeries, weekly[0].series_id)
    for name in USUALLY_MOKUMOKU:
        set_series_availability(db.session, member=people[name], series=series, now=now)


def offered_place(monthly, people, now) -> None:
    """Tanaka cannot come to the next meeting and offers his setup place (交代をお願いする):
    Kimura, first on its waitlist, is told, and any member may take it."""
    upcoming = [s for s in loaded(monthly) if s.starts_at >= now]
    if not upcoming:
        return
    place = db.session.scalar(
        sa.select(Assignment).where(
            Assignment.slot_id == slots_of(upcoming[0])["setup"].id,
            Assignment.user_id == people["tanaka"].id,
            Assignment.status == AssignmentStatus.CONFIRMED,
        )
    )
    offer_place(
        db.session,
        place=place,
        member=people["tanaka"],
        note="急な出張が入ってしまいました。どなたか設営をお願いできますか？",
        now=now,
    )
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)
