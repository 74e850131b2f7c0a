"""The demo's people side (studygroup.demo): thank-you notes after the latest meeting, two
introductions, the organizer's yearly list with a few cards sent, and shared birthdays, so
those pages show something on the first run. Their emails are not kept (the demo sends none).
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from studygroup.config import DEFAULT_TIMEZONE
from studygroup.demo_staffing import loaded
from studygroup.extensions import db
from studygroup.introductions.services import answer_introduction, make_introduction
from studygroup.mail.models import OutboundEmail
from studygroup.relationships.birthdays import week_of
from studygroup.relationships.services import default_year, mark_cards, yearly_list
from studygroup.thanks.services import send_thanks

# (sender, recipient, note) after the latest monthly meeting held.
THANKS = [
    ("organizer", "suzuki", "いつも会場の設営をありがとうございます！今月も助かりました。"),
    ("takahashi", "suzuki", "プロジェクターの配線、ありがとう。次回もよろしく！"),
    ("suzuki", "organizer", "片付けまでありがとうございました。また来月！"),
]


def thank_you_notes(sessions, people, now) -> None:
    """A few notes after the latest monthly meeting held, so /thanks shows some at once."""
    latest = max((s for s in loaded(sessions) if s.starts_at < now), key=lambda s: s.starts_at)
    # An evening after the meeting (or now, when it has only just begun).
    when = min(latest.ends_at + timedelta(hours=2), now)
    for sender, recipient, body in THANKS:
        send_thanks(
            db.session,
            sender=people[sender],
            recipient=people[recipient],
            session=latest,
            body=body,
            now=when,
        )
    db.session.execute(sa.delete(OutboundEmail))
    db.session.info.pop("queued_emails", None)


# (introducer, first, second, note, accepted by both)
INTRODUCTIONS = [
    (
        "coorganizer",
        "organizer",
        "priya",
        "Priya runs data pipelines at work and would like to give a talk; Misaki plans the "
        "autumn programme.",
        True,
    ),
    (
        "organizer",
        "suzuki",
        "yamaguchi",
        "鈴木さんは pandas、山口さんは R でデータ可視化をしています。一緒にハンズオンを"
        "企画できそうです。",
        False,
    ),
]


def introductions(people, now) -> None:
    """An accepted and a waiting introduction, so /introductions shows both at once: the
    organizer was introduced to Priya (accepted) and introduced Suzuki to Yamaguchi
    (waiting: Suzuki accepted, Yamaguchi has not answered)."""
    db.session.flush()
    for n, (introducer, first, second, note, both) in enumerate(INTRODUCTIONS):
        when = now - timedelta(days=20 - 10 * n)
        introduction = make_introduction(
            db.session,
            introducer=people[introducer],
            first=people[first],
            second=people[second],
            note=note,
            now=when,
        )
        answer_introduction(db.session, introduction, member=people[first], accept=True, now=when)
        if both:
            answer_introduction(
                db.session, introduction, member=people[second], accept=True, now=when
            )
    db.session.execute(
        sa.delete(OutboundEmail).where(OutboundEmail.kind.startswith("introduction"))
    )
    db.session.info.pop("queued_emails", None)


def cards_sent(organizer, now) -> None:
    """The organizer's yearly list (the year it opens on) with a few cards marked sent."""
    db.session.flush()
    year = default_year(db.session, organizer, now=now)
    the_list = yearly_list(db.session, organizer, year=year, now=now)
    sent = {entry.person.user_id for entry in the_list.named[::3]}
    mark_cards(db.session, organizer, the_list, sent=sent, now=now)


def birthdays(people, now) -> None:
    """A few shared birthdays, two of them this week (Tokyo), so Suzuki's co-worker page and
    her weekly digest (she chose it, as did the organizer) show some on the first run. Ito
    shares one too, but does not appear by name, and Yamamoto keeps hers private: neither is
    shown to anyone."""
    today = now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    week = week_of(today)
    later = week[6] if today != week[6] else week[0]
    birthdays = {
        "takahashi": (today.month, today.day, True),
        "tanaka": (later.month, later.day, True),
        "suzuki": (3, 14, True),
        "organizer": (7, 7, True),
        "watanabe": (2, 29, True),
        "ito": (today.month, today.day, True),
        "yamamoto": (later.month, later.day, False),
    }
    for name, (month, day, shared) in birthdays.items():
        person = people[name]
        person.birthday_month, person.birthday_day = month, day
        person.share_birthday = shared
    people["suzuki"].email_birthday_digest = True
    people["organizer"].email_birthday_digest = True
