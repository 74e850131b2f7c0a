"""The group page's archive by year counts sessions per local year in the database (one row per
year), not by reading every past start time: right at New Year in the group's zone, on both
engines."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from studygroup.extensions import db
from studygroup.sessions.lists import past_years
from studygroup.sessions.models import StudySession

NOW = datetime(2027, 3, 1, tzinfo=UTC)
# Each test runs counted live and from the tie tables (conftest.ties_or_live).
pytestmark = pytest.mark.usefixtures("ties_or_live")


def _sessions(group, starts: list[datetime]) -> None:
    db.session.add_all(
        StudySession(
            group_id=group.id,
            title=f"Session {n}",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
        for n, start in enumerate(starts)
    )
    db.session.commit()


@pytest.mark.parametrize(
    ("zone", "last_of_the_old_year", "first_of_the_new_year"),
    [
        # Tokyo is ahead of UTC: its New Year comes while UTC is still in the old year.
        ("Asia/Tokyo", datetime(2023, 12, 31, 23, 30), datetime(2024, 1, 1, 0, 30)),
        # New York is behind: its New Year's Eve evening is already the new year in UTC.
        ("America/New_York", datetime(2023, 12, 31, 20, 0), datetime(2024, 1, 1, 0, 30)),
    ],
)
def test_a_weekly_group_over_years_counted_per_local_year_in_one_query(
    make, count_queries, zone, last_of_the_old_year, first_of_the_new_year
):
    tz = ZoneInfo(zone)
    group = make.group(timezone=zone)
    weekly = [datetime(2021, 6, 5, 19, tzinfo=tz) + timedelta(weeks=n) for n in range(300)]
    edges = [last_of_the_old_year.replace(tzinfo=tz), first_of_the_new_year.replace(tzinfo=tz)]
    # One of them is in the other year in UTC.
    assert [e.astimezone(UTC).year for e in edges] != [e.year for e in edges] == [2023, 2024]
    starts = [moment.astimezone(UTC) for moment in weekly + edges]
    _sessions(group, starts)
    other = make.group(timezone=zone)  # another group's sessions count only there
    _sessions(other, starts[:10])

    assert group.timezone == zone  # (loaded: the commit expired it)
    with count_queries() as queries:
        years = past_years(db.session, group=group, now=NOW)

    past = [s for s in starts if s + timedelta(hours=2) < NOW]
    expected = Counter(s.astimezone(tz).year for s in past)
    assert years == sorted(expected.items(), reverse=True)
    assert [year for year, _count in years] == [2027, 2026, 2025, 2024, 2023, 2022, 2021]
    # The sessions at New Year count in the group's year, not in UTC's.
    without_edges = Counter(s.astimezone(tz).year for s in past if s not in starts[-2:])
    assert expected[2023] == without_edges[2023] + 1
    assert expected[2024] == without_edges[2024] + 1
    # One query that counts in the database: a row per year comes back, not per session.
    assert queries.count == 1
    statement = queries.statements[0].lower()
    assert "count(" in statement and "group by" in statement
