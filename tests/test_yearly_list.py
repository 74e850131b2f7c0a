"""The yearly list (年賀状リスト, issue 10 item 4): who a member worked with in one calendar
year of their own time zone, "card sent" marks that stay per year, the print view and CSV."""

import csv
import io
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.groups.models import Visibility
from studygroup.relationships.models import CardSent
from studygroup.relationships.services import (
    ListOrder,
    default_year,
    mark_cards,
    yearly_list,
)
from tests import test_coworking as coworking
from tests.factories import slots_of

# A fixed clock for the services: December 2026 in Tokyo.
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
TOKYO = ZoneInfo("Asia/Tokyo")

# test_coworking's: the fixture (an organizer, their group, and Ai, Bo, Cy and Di in it), a
# and an organizer's putting someone in a slot.
crew = coworking.crew
put = coworking.put


def held(make, group, organizer, day, crew, start=time(10), end=time(12)):
    """A session on `day` (the group's clock) worked by crew: {member: role key}."""
    session = make.session(group, day=day, start=start, end=end)
    roles = slots_of(session)
    for member, key in crew.items():
        put(organizer, member, roles[key])
    db.session.commit()
    return session


@pytest.fixture
def new_year(crew, make):
    """Ai's 2025 and 2026 in Tokyo: Bo twice in 2025 (the last on New Year's Eve), Cy once in
    2025 at another role, Di only at 00:30 on 1 January 2026 (still 2025 in UTC)."""
    organizer, group, p = crew
    ai, bo, cy, di = p["Ai"], p["Bo"], p["Cy"], p["Di"]
    held(make, group, organizer, date(2025, 3, 15), {ai: "setup", bo: "setup", cy: "reception"})
    held(make, group, organizer, date(2025, 12, 31), {ai: "setup", bo: "setup"}, time(21), time(23))
    held(make, group, organizer, date(2026, 1, 1), {ai: "setup", di: "setup"}, time(0, 30), time(2))
    return crew


def names(the_list):
    return [e.person.name for e in the_list.entries]


def test_the_list_counts_a_calendar_year_on_the_members_clock(new_year):
    _organizer, _group, p = new_year
    ai = p["Ai"]
    last = yearly_list(db.session, ai, year=2025, now=NOW)
    assert names(last) == ["Bo", "Cy"]  # by reading; Di's 00:30 on New Year's Day is 2026
    bo, cy = (e.person for e in last.entries)
    assert (bo.sessions, bo.roles) == (2, {"Setup": 2})
    assert bo.last.astimezone(TOKYO).date() == date(2025, 12, 31)
    assert (cy.sessions, cy.roles) == (1, {})  # reception next to setup: no role in common
    assert names(yearly_list(db.session, ai, year=2026, now=NOW)) == ["Di"]
    assert names(yearly_list(db.session, ai, year=2024, now=NOW)) == []

    # On a London clock New Year's Day in Tokyo was still New Year's Eve.
    ai.timezone = "Europe/London"
    assert names(yearly_list(db.session, ai, year=2025, now=NOW)) == ["Bo", "Cy", "Di"]
    assert names(yearly_list(db.session, ai, year=2026, now=NOW)) == []


def test_the_list_orders_by_reading_or_by_most_sessions(crew, make):
    organizer, group, p = crew
    ai = p["Ai"]
    ai.timezone = "Asia/Tokyo"
    zen = make.member(group, make.user(display_name="Zen"))
    for month in (2, 4, 6):
        held(make, group, organizer, date(2025, month, 1), {ai: "setup", zen: "setup"})
    held(make, group, organizer, date(2025, 7, 1), {ai: "setup", p["Bo"]: "reception"})
    assert names(yearly_list(db.session, ai, year=2025, now=NOW)) == ["Bo", "Zen"]
    most = yearly_list(db.session, ai, year=2025, now=NOW, order=ListOrder.MOST)
    assert names(most) == ["Zen", "Bo"]


def test_someone_not_appearing_by_name_is_a_member_and_gets_no_mark(crew, make):
    """Ai's list follows the co-worker page's rule: Eve, who chose not to appear by name, is
    "a member" where Ai is a plain member, and by name in a group Ai organizes."""
    organizer, group, p = crew
    ai, eve = p["Ai"], make.member(group, make.user(display_name="Eve Hidden"))
    eve.appear_by_name = False
    held(make, group, organizer, date(2025, 5, 10), {ai: "setup", eve: "setup", p["Bo"]: "setup"})
    the_list = yearly_list(db.session, ai, year=2025, now=NOW)
    assert names(the_list) == ["Bo", None]  # "a member" last
    assert [e.person.name for e in the_list.named] == ["Bo"]
    with pytest.raises(LookupError):
        mark_cards(db.session, ai, the_list, sent={eve.id}, only=eve.id, now=NOW)
    mark_cards(db.session, ai, the_list, sent={eve.id, p["Bo"].id}, now=NOW)
    db.session.commit()
    assert set(db.session.scalars(sa.select(CardSent.person_id))) == {p["Bo"].id}

    # Ai organizes a members-only group where Eve worked with them: there Ai sees her name.
    own = make.group(ai, visibility=Visibility.MEMBERS)
    make.member(own, eve)
    held(make, own, ai, date(2024, 5, 10), {ai: "setup", eve: "setup"})
    assert names(yearly_list(db.session, ai, year=2024, now=NOW)) == ["Eve Hidden"]
    # Not in a year where some of their sessions were in a group Ai does not organize.
    held(make, own, ai, date(2025, 6, 10), {ai: "setup", eve: "setup"})
    assert names(yearly_list(db.session, ai, year=2025, now=NOW)) == ["Bo", None]


def test_marks_stay_per_year_and_unmarking_deletes_them(crew, make):
    organizer, group, p = crew
    ai, bo, cy = p["Ai"], p["Bo"], p["Cy"]
    for year in (2025, 2026):
        held(make, group, organizer, date(year, 5, 1), {ai: "setup", bo: "setup", cy: "setup"})
    last = yearly_list(db.session, ai, year=2025, now=NOW)
    mark_cards(db.session, ai, last, sent={bo.id, cy.id}, now=NOW)
    db.session.commit()
    mark_cards(db.session, ai, last, sent=set(), only=cy.id, now=NOW)
    db.session.commit()
    assert [e.sent for e in yearly_list(db.session, ai, year=2025, now=NOW).entries] == [
        True,
        False,
    ]
    assert yearly_list(db.session, ai, year=2025, now=NOW).sent == 1
    assert yearly_list(db.session, ai, year=2026, now=NOW).sent == 0
    rows = db.session.execute(sa.select(CardSent.person_id, CardSent.year, CardSent.marked_at))
    assert [(person, year) for person, year, _at in rows] == [(bo.id, 2025)]
    # Marking again (a second tab) writes no second row.
    mark_cards(db.session, ai, last, sent={bo.id}, only=bo.id, now=NOW)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CardSent)) == 1
    # Someone else's marks are theirs.
    bo_list = yearly_list(db.session, bo, year=2025, now=NOW)
    assert [e.sent for e in bo_list.entries] == [False, False]


def test_the_default_is_the_year_whose_cards_are_due_next(crew, make):
    """From January the year just ended; in December the year that is ending, when cards are
    written. When that list is empty and the other is not, the other."""
    organizer, group, p = crew
    ai, bo = p["Ai"], p["Bo"]
    november = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    december = NOW  # 2026-12-01 12:00 in Tokyo
    assert default_year(db.session, ai, now=november) == 2025  # nobody at all: last year
    assert default_year(db.session, ai, now=december) == 2026  # nobody at all: this year
    held(make, group, organizer, date(2025, 3, 1), {ai: "setup", bo: "setup"})
    assert default_year(db.session, ai, now=november) == 2025
    assert default_year(db.session, ai, now=december) == 2025  # 2026 is empty: 2025 then
    held(make, group, organizer, date(2026, 3, 1), {ai: "setup", bo: "setup"})
    assert default_year(db.session, ai, now=november) == 2025
    assert default_year(db.session, ai, now=december) == 2026
    # 00:30 on New Year's Day 2027 in Tokyo is January there: the year just ended, 2026.
    new_year = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    assert default_year(db.session, ai, now=new_year) == 2026
    # 23:30 on 30 November in Tokyo is still November: 2025.
    assert default_year(db.session, ai, now=datetime(2026, 11, 30, 14, 30, tzinfo=UTC)) == 2025


# --- the pages ----------------------------------------------------------------------------


def this_tokyo_year() -> int:
    return datetime.now(TOKYO).year


@pytest.fixture
def last_year(crew, make):
    """Ai worked with Bo and Cy last year (real clock), Bo twice."""
    organizer, group, p = crew
    ai, bo, cy = p["Ai"], p["Bo"], p["Cy"]
    year = this_tokyo_year() - 1
    held(make, group, organizer, date(year, 4, 18), {ai: "setup", bo: "setup", cy: "reception"})
    held(make, group, organizer, date(year, 9, 19), {ai: "setup", bo: "setup"})
    return year


def test_the_page_lists_marks_and_counts(client, auth, crew, last_year):
    _organizer, _group, p = crew
    ai, bo, cy = p["Ai"], p["Bo"], p["Cy"]
    auth.login_as(ai)
    response = client.get("/coworkers/year")
    assert response.status_code == 302
    assert response.location.endswith(f"/coworkers/year/{last_year}?order=name")
    page = client.get(f"/coworkers/year/{last_year}").get_data(as_text=True)
    assert f"People you worked with in {last_year}" in page
    assert "0 of 2 cards sent" in page and page.index(">Bo<") < page.index(">Cy<")
    assert "Setup ×2" in page

    # Without script: the whole form, ticked boxes as they are.
    saved = client.post(f"/coworkers/year/{last_year}/cards", data={"sent": [bo.id, cy.id]})
    assert saved.status_code == 302
    assert "2 of 2 cards sent" in client.get(f"/coworkers/year/{last_year}").get_data(as_text=True)
    # With script: one box at a time, answered in JSON.
    answer = client.post(
        f"/coworkers/year/{last_year}/cards",
        data={"person": cy.id},
        headers={"Accept": "application/json"},
    )
    assert answer.json == {"sent": 1, "total": 2, "text": "1 of 2 cards sent"}
    assert (
        client.post(f"/coworkers/year/{last_year}/cards", data={"person": p["Di"].id}).status_code
        == 404
    )  # not on the list
    other_year = client.get(f"/coworkers/year/{last_year + 1}").get_data(as_text=True)
    assert "Nobody in" in other_year

    # Reachable from the co-worker page and the profile.
    for path in (f"/people/{ai.id}/coworkers", "/profile"):
        assert 'href="/coworkers/year"' in client.get(path).get_data(as_text=True), path


def test_the_page_in_japanese(client, auth, crew, last_year):
    ai = crew[2]["Ai"]
    ai.locale = "ja"
    db.session.commit()
    auth.login_as(ai)
    page = client.get(f"/coworkers/year/{last_year}").get_data(as_text=True)
    assert f"{last_year}年に一緒に活動した人" in page
    assert "2人中0人に送付済み" in page


@pytest.mark.parametrize("path", ["", "/print", ".csv"])
def test_bad_years_are_not_found(client, auth, crew, last_year, path):
    ai = crew[2]["Ai"]
    assert client.get(f"/coworkers/year/{last_year}{path}").status_code == 302  # log in first
    auth.login_as(ai)
    assert client.get(f"/coworkers/year/{last_year}{path}").status_code == 200
    # Ai's history starts with last year's work: before it, and after this year, nothing.
    for year in (last_year - 1, this_tokyo_year() + 1, 1999, 0, 99999):
        assert client.get(f"/coworkers/year/{year}{path}").status_code == 404, year
    assert client.get(f"/coworkers/year/abc{path}").status_code == 404
    assert client.post(f"/coworkers/year/{this_tokyo_year() + 1}/cards").status_code == 404


def test_the_print_view_and_the_csv(client, auth, crew, make, last_year):
    organizer, group, p = crew
    ai = p["Ai"]
    formula = make.member(group, make.user(display_name="=HYPERLINK(1)"))
    hidden = make.member(group, make.user(display_name="Hidden Person"))
    hidden.appear_by_name = False
    held(
        make,
        group,
        organizer,
        date(last_year, 10, 3),
        {ai: "setup", formula: "setup", hidden: "setup"},
    )
    ai.locale = "ja"
    db.session.commit()
    auth.login_as(ai)
    client.post(f"/coworkers/year/{last_year}/cards", data={"sent": [p["Bo"].id]})

    printed = client.get(f"/coworkers/year/{last_year}/print").get_data(as_text=True)
    assert ai.display_name in printed and f"{last_year}年に一緒に活動した人" in printed
    assert "Hidden Person" not in printed and "ほか1人" in printed

    response = client.get(f"/coworkers/year/{last_year}.csv")
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0] == [
        "名前",
        "一緒に活動した回数",
        "一緒に担当した役割",
        "最後に一緒に活動した日",
        "年賀状送付済み",
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["Bo"] == ["Bo", "2", "設営 ×2", f"{last_year}/09/19", "はい"]
    assert by_name["Cy"][4] == "いいえ"
    assert by_name["'=HYPERLINK(1)"][1] == "1"  # the formula stays text
    assert by_name["あるメンバー"][4] == ""  # "a member": no card to mark
    assert "Hidden Person" not in response.data.decode("utf-8-sig")


def test_the_pages_cost_a_fixed_number_of_queries(client, auth, crew, make, count_queries):
    organizer, group, p = crew
    ai = p["Ai"]
    year = this_tokyo_year() - 1
    auth.login_as(ai)

    def measure():
        counts = []
        for path in ("", "/print", ".csv"):
            with count_queries() as q:
                assert client.get(f"/coworkers/year/{year}{path}").status_code == 200
            counts.append(q.count)
        return counts

    held(make, group, organizer, date(year, 1, 10), {ai: "setup", p["Bo"]: "setup"})
    few = measure()
    more = [make.member(group, make.user(display_name=f"Person {n}")) for n in range(12)]
    for month in range(2, 12):
        pair = more[(2 * month) % 12], more[(2 * month + 1) % 12]
        crew_of_month = {ai: "setup", **{m: "reception" for m in pair}}
        held(make, group, organizer, date(year, month, 10), crew_of_month)
    client.post(f"/coworkers/year/{year}/cards", data={"sent": [m.id for m in more[:5]]})
    assert measure() == few
    assert max(few) <= 6, few
