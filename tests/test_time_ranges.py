"""Time windows on pages say which pass of a repeated hour they mean, and which day they end."""

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale

from studygroup.extensions import db
from studygroup.i18n import format_datetime, format_time_range
from studygroup.sessions.services import create_session

NY, BERLIN = "America/New_York", "Europe/Berlin"
# New York, 7 Nov 2027: 01:00-02:00 EDT (UTC-4), then 01:00-02:00 again in EST (UTC-5).
NY_FIRST_0130 = datetime(2027, 11, 7, 5, 30, tzinfo=UTC)
# Berlin, 31 Oct 2027: 02:00-03:00 CEST (UTC+2), then 02:00-03:00 again in CET (UTC+1).
BERLIN_FIRST_0230 = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.mark.parametrize(
    ("start", "end", "zone", "english", "japanese"),
    [
        # Across the change, first pass to second: not "01:30–01:15".
        (NY_FIRST_0130, NY_FIRST_0130 + 45 * HOUR / 60, NY,
         "01:30 (UTC−4)–01:15 (UTC−5)", "1:30 (UTC−4)–1:15 (UTC−5)"),
        (BERLIN_FIRST_0230, BERLIN_FIRST_0230 + HOUR, BERLIN,
         "02:30 (UTC+2)–02:30 (UTC+1)", "2:30 (UTC+2)–2:30 (UTC+1)"),
        # Within one pass: each end that the clock shows twice says which.
        (NY_FIRST_0130, NY_FIRST_0130 + HOUR / 4, NY,
         "01:30 (UTC−4)–01:45 (UTC−4)", "1:30 (UTC−4)–1:45 (UTC−4)"),
        (BERLIN_FIRST_0230 + HOUR, BERLIN_FIRST_0230 + 2 * HOUR, BERLIN,
         "02:30 (UTC+1)–03:30 (UTC+1)", "2:30 (UTC+1)–3:30 (UTC+1)"),
        # Across midnight and the change: the end's date and both offsets.
        (BERLIN_FIRST_0230 - 3 * HOUR, BERLIN_FIRST_0230 + HOUR, BERLIN,
         "23:30 (UTC+2)–Sun 31 Oct 2027, 02:30 (UTC+1)",
         "23:30 (UTC+2)–2027年10月31日(日) 2:30 (UTC+1)"),
        # Across midnight only: the end's date, no offsets.
        (datetime(2027, 3, 20, 13, tzinfo=UTC), datetime(2027, 3, 20, 16, tzinfo=UTC), "Asia/Tokyo",
         "22:00–Sun 21 Mar 2027, 01:00", "22:00–2027年3月21日(日) 1:00"),
        # Clocks going forward: 1:30 to 3:30 is one hour, and says so.
        (datetime(2027, 3, 14, 6, 30, tzinfo=UTC), datetime(2027, 3, 14, 7, 30, tzinfo=UTC), NY,
         "01:30 (UTC−5)–03:30 (UTC−4)", "1:30 (UTC−5)–3:30 (UTC−4)"),
        # An ordinary day: as before.
        (datetime(2027, 3, 20, 1, tzinfo=UTC), datetime(2027, 3, 20, 3, tzinfo=UTC), "Asia/Tokyo",
         "10:00–12:00", "10:00–12:00"),
    ],
)  # fmt: skip
def test_windows_in_both_languages(app, start, end, zone, english, japanese):
    with app.test_request_context():
        with force_locale("en"):
            assert format_time_range(start, end, zone) == english
        with force_locale("ja"):
            assert format_time_range(start, end, zone) == japanese


def test_a_time_the_clock_shows_twice_says_which(app):
    with app.test_request_context(), force_locale("en"):
        assert format_datetime(NY_FIRST_0130, NY) == "Sun 7 Nov 2027, 01:30 (UTC−4)"
        assert format_datetime(NY_FIRST_0130 + HOUR, NY) == "Sun 7 Nov 2027, 01:30 (UTC−5)"
        assert format_datetime(NY_FIRST_0130 - HOUR, NY) == "Sun 7 Nov 2027, 00:30"


def test_the_session_page_shows_the_offsets(make, client):
    group = make.group(timezone=NY)
    session = create_session(
        db.session,
        group=group,
        title="Night owls",
        starts_at=NY_FIRST_0130,
        ends_at=NY_FIRST_0130 + 45 * HOUR / 60,  # the second 01:15
        venue="",
        now=datetime.now(UTC),
    )
    db.session.commit()
    url = f"/g/{group.slug}/sessions/{session.id}"
    english = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "01:30 (UTC−4)–01:15 (UTC−5)" in english
    assert "01:30–01:15" not in english
    japanese = client.get(url, headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "1:30 (UTC−4)–1:15 (UTC−5)" in japanese
