"""Birthdays: a member's month and day (no year), shown only to the people they worked with,
and the weekly "birthdays this week among people you worked with" email.

The rules (also said next to the choices):

* A birthday is shown only when its owner chose to share it (`User.share_birthday`, off by
  default), only to people who worked a session with them (a tie: `counts_as_worked`, the
  co-working definition), and never when they chose not to appear by name. It appears on the
  viewer's own co-worker page (`coworking.services._shared_birthday` decides, inside the
  page's one query for the co-workers), nowhere else, and never in the CSV.
* "This week" is the ISO week, Monday to Sunday, that holds the date of `now` on the
  recipient's clock (`User.timezone`); a week across New Year holds days of both years.
  A 29 February birthday shows on 28 February in other years.
* The digest goes to members who chose it (`User.email_birthday_digest`, off by default),
  once per ISO week: the outbox's unique `dedupe_key` `birthdays:<user id>:<ISO year>-W<week>`
  is the claim (as for reminders), so overlapping runs or a rerun write it once. No birthday
  that week, no email (and no claim: a birthday shared later that week still goes out).
  It is due from Monday 8:00 on the recipient's clock; an hourly cron sends it about then.
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import click
import sqlalchemy as sa
from babel.dates import format_date as babel_format_date
from flask import current_app, render_template
from flask.cli import with_appcontext
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.services import Coworker, coworkers_of
from studygroup.coworking.ties import advance_ties
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.i18n import locale_of
from studygroup.mail.delivery import deliver
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.mail.services import claim_in_chunks
from studygroup.urls import external_url

# The digest is due from this time on Monday, on the recipient's clock.
DIGEST_FROM = time(8)
MONTH_DAY_PATTERNS = {"ja": "M月d日", "en": "d MMMM"}


def month_day(month: int, day: int) -> str:
    """`3月14日` / `14 March`, in the page's (or email's) language."""
    locale = str(get_locale())
    pattern = MONTH_DAY_PATTERNS.get(locale, MONTH_DAY_PATTERNS["en"])
    return babel_format_date(date(2000, month, day), pattern, locale=locale)


def week_of(day: date) -> list[date]:
    """The ISO week (Monday to Sunday) that holds `day`."""
    monday = day - timedelta(days=day.weekday())
    return [monday + timedelta(days=n) for n in range(7)]


def local_today(member: User, now: datetime) -> date:
    return now.astimezone(ZoneInfo(member.timezone)).date()


def falls_on(month: int, day: int, on: date) -> bool:
    """Whether a birthday is celebrated on `on`: 29 February on 28 February in other years."""
    if (month, day) == (on.month, on.day):
        return True
    return (
        (month, day) == (2, 29) and (on.month, on.day) == (2, 28) and not (calendar.isleap(on.year))
    )


@dataclass
class Birthday:
    person: Coworker  # named, and sharing their birthday
    month: int
    day: int
    on: date  # the day of this week it is celebrated


def birthdays_this_week(
    db_session: Session,
    member: User,
    *,
    now: datetime,
    coworkers: list[Coworker] | None = None,
) -> list[Birthday]:
    """The shared birthdays of the people `member` worked with that fall in this week on the
    member's clock, by day then name. `coworkers` is the member's whole unfiltered list when
    the caller has it already (no query then); otherwise `coworkers_of` asks (one query)."""
    if coworkers is None:
        coworkers = coworkers_of(db_session, member, viewer=member, now=now)
    week = week_of(local_today(member, now))
    found = []
    for person in coworkers:
        if person.birthday is None or person.name is None:
            continue
        month, day = person.birthday
        on = next((d for d in week if falls_on(month, day, d)), None)
        if on is not None:
            found.append(Birthday(person, month, day, on))
    found.sort(key=lambda b: (b.on, b.person.sort_key, b.person.name))
    return found


def digest_key(member: User, day: date) -> str:
    """The claim of one member's digest for the ISO week of `day`."""
    year, week, _weekday = day.isocalendar()
    return f"birthdays:{member.id}:{year}-W{week:02d}"


def _due(member: User, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(member.timezone))
    return local.weekday() > 0 or local.time() >= DIGEST_FROM


def compose_digest(member: User, birthdays: list[Birthday], *, now: datetime) -> OutboundEmail:
    """The digest for `member` in their language (not yet in the outbox)."""
    week = week_of(local_today(member, now))
    with force_locale(locale_of(member)):
        subject = str(_l("Birthdays this week among people you worked with"))
        body = render_template(
            "mail/birthday_digest.txt",
            user=member,
            first=_day_label(week[0]),
            last=_day_label(week[-1]),
            birthdays=[(b.person.name, month_day(b.month, b.day)) for b in birthdays],
            page_url=external_url("coworking.page", user_id=member.id),
            settings_url=external_url("auth.profile"),
        )
    return OutboundEmail(
        user_id=member.id,
        to_address=member.email,
        subject=subject,
        body=body,
        kind="birthday_digest",
        dedupe_key=digest_key(member, week[0]),
        status=EmailStatus.PENDING,
        created_at=now,
    )


def _day_label(day: date) -> str:
    return month_day(day.month, day.day)


def claim_birthday_digests(db_session: Session, *, now: datetime) -> int:
    """Write this week's digest of every member who chose it into the outbox, once per
    member and ISO week (their clock): the unique `dedupe_key` is the claim, so two runs at
    once, or a rerun, write each digest once. Members whose digest is written already are
    skipped in one query; each of the others costs the co-worker query. Commits in chunks;
    returns how many digests it wrote."""
    recipients = [
        m
        for m in db_session.scalars(
            sa.select(User).where(User.email_birthday_digest.is_(True)).order_by(User.id)
        )
        if _due(m, now)
    ]
    keys = {m.id: digest_key(m, local_today(m, now)) for m in recipients}
    written = (
        set(
            db_session.scalars(
                sa.select(OutboundEmail.dedupe_key).where(
                    OutboundEmail.dedupe_key.in_(list(keys.values()))
                )
            )
        )
        if keys
        else set()
    )
    messages = []
    for member in recipients:
        if keys[member.id] in written:
            continue
        birthdays = birthdays_this_week(db_session, member, now=now)
        if birthdays:
            messages.append(compose_digest(member, birthdays, now=now))
    return claim_in_chunks(db_session, messages)


@click.command("send-birthday-digest")
@with_appcontext
def send_birthday_digest_command() -> None:
    """Write this week's birthday digests (those not written yet), then send them. Safe to
    run as often as you like: each member gets one per week."""

    now = utcnow()
    advance_ties(db.session, now=now)  # the co-worker query then counts nothing live
    db.session.commit()
    claimed = claim_birthday_digests(db.session, now=now)
    report = deliver(db.session, now=utcnow(), budget=current_app.config["MAIL_RUN_BUDGET_SECONDS"])
    click.echo(
        f"birthday digests queued: {claimed}; "
        f"sent {report.sent}, left {report.left}, failed {report.failed}"
    )
