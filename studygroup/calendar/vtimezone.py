"""VTIMEZONE components written from the IANA data in zoneinfo.

icalendar's own `Timezone.from_tzinfo` writes the onset of daylight saving in the new offset
(`DTSTART:20260329T030000` for Berlin), where RFC 5545 §3.6.5 wants the wall clock before the
change (`02:00`, in TZOFFSETFROM): read as written, the change comes an hour late, and a client
that turns an instant of that hour into local time with the VTIMEZONE shows it an hour off.
Our events carry local times, which that does not move, but the zone should still say what
the law says. This module writes each change as it is, from zoneinfo.
"""

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from icalendar import Timezone

_STEP = timedelta(days=7)  # zones change at most a few times a year


def _state(zone: ZoneInfo, at: datetime) -> tuple[timedelta, timedelta, str]:
    local = at.astimezone(zone)
    return local.utcoffset(), local.dst(), local.tzname()


def _change_between(zone: ZoneInfo, lo: datetime, hi: datetime) -> datetime:
    """The first second in (lo, hi] with the state of `hi`, knowing lo's state differs."""
    before = _state(zone, lo)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) // 2
        mid = mid.replace(microsecond=0)
        if _state(zone, mid) == before:
            lo = mid
        else:
            hi = mid
    return hi


def _observance(kind, onset_utc: datetime, offset_from: timedelta, state) -> object:
    offset_to, _dst, name = state
    part = kind()
    # The onset as a wall-clock time in the offset that was in force until then.
    part.add("dtstart", (onset_utc + offset_from).replace(tzinfo=None))
    part.add("tzoffsetfrom", offset_from)
    part.add("tzoffsetto", offset_to)
    part.add("tzname", name)
    return part


def vtimezone(tzid: str, first: datetime, last: datetime) -> "Timezone":
    """The zone's rules from `first` to `last` (aware datetimes): one observance per change."""
    # Imported with the first feed, not at start-up (see feeds.py).
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    zone = ZoneInfo(tzid)
    start = first.astimezone(UTC).replace(microsecond=0)
    end = last.astimezone(UTC)
    component = Timezone()
    component.add("tzid", tzid)
    state = _state(zone, start)
    kind = TimezoneDaylight if state[1] else TimezoneStandard
    component.add_component(_observance(kind, start, state[0], state))
    at = start
    while at < end:
        step_to = min(at + _STEP, end)
        if _state(zone, step_to) != state:
            onset = _change_between(zone, at, step_to)
            new_state = _state(zone, onset)
            kind = TimezoneDaylight if new_state[1] else TimezoneStandard
            component.add_component(_observance(kind, onset, state[0], new_state))
            state, at = new_state, onset
        else:
            at = step_to
    return component
