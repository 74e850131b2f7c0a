"""One definition of "the clock shows this time twice" (`i18n.shows_twice`): pages add the UTC
offset to exactly the times that feeds write in UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from studygroup.calendar import feeds
from studygroup.i18n import shows_twice

# (zone, the UTC moment the repeated hour starts, its length)
REPEATS = [
    ("America/New_York", datetime(2027, 11, 7, 5, 0, tzinfo=UTC), timedelta(hours=1)),
    ("Europe/Berlin", datetime(2027, 10, 31, 0, 0, tzinfo=UTC), timedelta(hours=1)),
    ("Australia/Lord_Howe", datetime(2027, 4, 3, 14, 30, tzinfo=UTC), timedelta(minutes=30)),
]


@pytest.mark.parametrize(("zone", "start", "length"), REPEATS)
def test_both_passes_of_the_repeated_hour_and_nothing_else(zone, start, length):
    tz = ZoneInfo(zone)
    # The repeated local hour is seen twice: once before the change, once after it.
    first_pass = [start + timedelta(minutes=m) for m in range(0, int(length.seconds / 60), 10)]
    second_pass = [moment + length for moment in first_pass]
    for moment in first_pass + second_pass:
        assert shows_twice(moment, tz), moment.astimezone(tz)
        assert feeds._local_or_utc(moment, tz).tzinfo is UTC
    for moment in (start - timedelta(minutes=1), start + 2 * length, start + timedelta(days=1)):
        assert not shows_twice(moment, tz), moment.astimezone(tz)
        assert feeds._local_or_utc(moment, tz).tzinfo is tz
    # A zone without clock changes never repeats an hour.
    assert not shows_twice(start, ZoneInfo("Asia/Tokyo"))
