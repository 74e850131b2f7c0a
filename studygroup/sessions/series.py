"""Series (定期開催): recurrence rules, planning a series' dates in the group's zone, and
posting one (each date a session, dates the group already has skipped). Times are evaluated
in the group's zone, so "10:00 every 3rd Saturday" stays 10:00 across daylight-saving
changes. Functions flush; the caller commits.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup import events
from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.groups.models import Group
from studygroup.input import is_ascii_number
from studygroup.rules import RuleViolation
from studygroup.sessions.models import SessionSeries, StudySession
from studygroup.sessions.services import (
    active_role_types,
    create_session,
    sessions_starting_at,
    to_utc,
)


class NothingToPost(RuleViolation):
    """Every date of a series already has a session: nothing is wrong with the form, there
    is just nothing new to post."""

    def __init__(self):
        super().__init__(
            _l("No new session is posted: every one of these dates already has a session.")
        )


def monthly_rule(ordinals: Iterable[int], weekday: str) -> str:
    """`monthly_rule([3], "SA")` -> `FREQ=MONTHLY;BYDAY=+3SA` (every 3rd Saturday)."""
    days = ",".join(f"{'+' if n > 0 else ''}{n}{weekday}" for n in sorted(ordinals, key=_ord))
    return f"FREQ=MONTHLY;BYDAY={days}"


def _ord(n: int) -> int:
    return 99 if n < 0 else n


def weekly_rule(weekday: str, interval: int = 1) -> str:
    return f"FREQ=WEEKLY;INTERVAL={interval};BYDAY={weekday}"


def series_dates(rule: str, *, first_day: date, last_day: date, limit: int) -> list[date]:
    """The dates a rule yields from `first_day` to `last_day`, at most `limit` + 1 of them.

    Raises RuleViolation for a rule dateutil cannot read. Works on dates only; the caller puts
    the local start time on each, so daylight-saving changes never move the wall-clock time.
    """
    cleaned = _checked_rule(rule)
    unreadable = RuleViolation(
        _l("This rule cannot be read. Example: FREQ=MONTHLY;BYDAY=+3SA."), "rule"
    )
    until = datetime.combine(last_day, time(0))
    days: list[date] = []
    try:
        parsed = rrulestr(cleaned, dtstart=datetime.combine(first_day, time(0)))
        # dateutil also raises while iterating (e.g. on a BYEASTER out of range).
        for occurrence in parsed:
            if occurrence > until or len(days) > limit:
                break
            if not days or occurrence.date() != days[-1]:
                days.append(occurrence.date())
    except (ValueError, TypeError, IndexError, KeyError, OverflowError):
        raise unreadable from None
    return days


# Parts of a custom rule we accept. Times come from the form; finer frequencies and DAILY are
# left out because a rule that never matches makes dateutil walk to the year 9999 (seconds of
# CPU for DAILY; a fraction of a second for MONTHLY and YEARLY).
_PERIOD_PARTS = {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYSETPOS", "BYMONTH", "WKST"}
RULE_PARTS = {
    "WEEKLY": {"FREQ", "INTERVAL", "BYDAY", "BYMONTH", "WKST", "COUNT", "UNTIL"},
    "MONTHLY": _PERIOD_PARTS | {"COUNT", "UNTIL"},
    "YEARLY": _PERIOD_PARTS | {"COUNT", "UNTIL"},
}


def _checked_rule(rule: str) -> str:
    cleaned = rule.strip()
    if cleaned.upper().startswith("RRULE:"):
        cleaned = cleaned[6:]
    parts: dict[str, str] = {}
    for part in cleaned.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value or name.upper() in parts:
            raise RuleViolation(_l("Give a single RRULE, e.g. FREQ=MONTHLY;BYDAY=+3SA."), "rule")
        parts[name.strip().upper()] = value.strip()
    allowed = RULE_PARTS.get(parts.get("FREQ", "").upper())
    if allowed is None:
        raise RuleViolation(_l("A custom rule repeats weekly, monthly or yearly."), "rule")
    if parts.keys() - allowed:
        names = ", ".join(sorted(parts.keys() - allowed))
        raise RuleViolation(
            _l(
                "These parts are not supported here: %(names)s. Times come from the start and "
                "end fields.",
                names=names,
            ),
            "rule",
        )
    if "INTERVAL" in parts and not (
        is_ascii_number(parts["INTERVAL"]) and 1 <= int(parts["INTERVAL"]) <= 12
    ):
        raise RuleViolation(_l("INTERVAL must be a number from 1 to 12."), "rule")
    if not cleaned.isascii():
        # RFC 5545 rules are ASCII; dateutil would read "１" or "٣" as a number.
        raise RuleViolation(
            _l("Write the rule in ASCII letters and digits, e.g. FREQ=MONTHLY;BYDAY=+3SA."),
            "rule",
        )
    return ";".join(f"{k}={v}" for k, v in parts.items())


@dataclass(frozen=True)
class PlannedSession:
    starts_at: datetime
    ends_at: datetime


def plan_series(
    *,
    rule: str,
    first_day: date,
    months: int,
    start_time: time,
    end_time: time,
    tz: str,
    limit: int,
) -> list[PlannedSession]:
    """Concrete start/end times for a rule, or RuleViolation when it yields none or too many."""
    if months < 1 or months > 24:
        raise RuleViolation(_l("Choose from 1 to 24 months."), "months")
    if end_time <= start_time:
        raise RuleViolation(_l("The end must be after the start."), "end_time")
    last_day = _add_months(first_day, months) - timedelta(days=1)
    days = series_dates(rule, first_day=first_day, last_day=last_day, limit=limit)
    if not days:
        raise RuleViolation(
            _l("This rule gives no dates in that period. Check the first date and the rule."),
            "rule",
        )
    if len(days) > limit:
        raise RuleViolation(
            _l("This makes more than %(n)d sessions. Choose fewer months.", n=limit), "months"
        )
    return [
        PlannedSession(to_utc(day, start_time, tz), to_utc(day, end_time, tz, field="end_time"))
        for day in days
    ]


def _add_months(day: date, months: int) -> date:
    return day + relativedelta(months=months)


def create_series(
    db_session: Session,
    *,
    group: Group,
    creator: User,
    title: str,
    rule: str,
    planned: list[PlannedSession],
    now: datetime,
    venue: str = "",
    description: str = "",
    headcounts: dict[int, int] | None = None,
    participant_capacity: int | None = None,
    participant_cancel_hours_before: int = 0,
) -> list[StudySession]:
    """Create the series row and one concrete, independently editable session per date, each
    with the same participant settings (`create_session`).

    Dates on which the group already has a session (`sessions_starting_at`) are skipped, so
    posting a series twice makes no duplicates; the caller tells how many were skipped
    (`len(planned)` minus the sessions returned). Refuses when every date has one. The
    group's row is locked first, so two requests cannot post the same date twice.
    """
    lock_row(db_session, Group, group.id)
    taken = sessions_starting_at(db_session, group, [p.starts_at for p in planned])
    planned = [p for p in planned if p.starts_at not in taken]
    if not planned:
        raise NothingToPost()
    series = SessionSeries(
        group_id=group.id,
        title=title.strip(),
        rrule=rule,
        first_starts_at=planned[0].starts_at,
        created_by_id=creator.id,
        created_at=now,
    )
    db_session.add(series)
    role_types = active_role_types(db_session, group)
    sessions = [
        create_session(
            db_session,
            group=group,
            title=title,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            venue=venue,
            description=description,
            headcounts=headcounts,
            series=series,
            role_types=role_types,
            now=now,
            participant_capacity=participant_capacity,
            participant_cancel_hours_before=participant_cancel_hours_before,
        )
        for p in planned
    ]
    events.series_posted.send(series, sessions=sessions, now=now)
    return sessions
