"""Birthdays: who sees one, the profile and privacy choices, "this week", and the weekly digest
(once per member and ISO week, with a real SMTP server)."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from studygroup.coworking.services import coworkers_of
from studygroup.extensions import db
from studygroup.mail.delivery import deliver
from studygroup.mail.models import OutboundEmail
from studygroup.relationships.birthdays import (
    birthdays_this_week,
    claim_birthday_digests,
    digest_key,
    falls_on,
    week_of,
)
from tests.factories import slots_of
from tests.test_coworking import past, put

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime.now(UTC)
TODAY = NOW.astimezone(TOKYO).date()


def next_monday(hour: int, tz=TOKYO) -> datetime:
    """The coming Monday (a week ahead when today is Monday) at `hour` on `tz`'s clock, UTC."""
    today = NOW.astimezone(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, time(hour), tzinfo=tz).astimezone(UTC)


def set_birthday(person, day: date, *, shared=True, by_name=True):
    person.birthday_month, person.birthday_day = day.month, day.day
    person.share_birthday = shared
    person.appear_by_name = by_name


@pytest.fixture
def crew(make):
    """Ai worked a session with Bo (shares), Cy (does not share) and Di (shares, but does not
    appear by name); Ed, in the same group, worked only with Bo (shares: Ai never worked with
    him). Every birthday is today in Tokyo."""
    organizer = make.user("org@example.com", display_name="Org")
    group = make.group(organizer, name="Tokyo Python")
    p = {
        n: make.member(group, make.user(f"{n.lower()}@example.com", display_name=n, locale="en"))
        for n in ("Ai", "Bo", "Cy", "Di", "Ed")
    }
    first = past(make, group, 10)
    for name in ("Ai", "Bo", "Cy", "Di"):
        put(organizer, p[name], slots_of(first)["setup" if name in "AiBo" else "reception"])
    second = past(make, group, 5)
    put(organizer, p["Bo"], slots_of(second)["setup"])
    put(organizer, p["Ed"], slots_of(second)["setup"])
    set_birthday(p["Ai"], TODAY)
    set_birthday(p["Bo"], TODAY)
    set_birthday(p["Cy"], TODAY, shared=False)
    set_birthday(p["Di"], TODAY, by_name=False)
    set_birthday(p["Ed"], TODAY)
    db.session.execute(sa.delete(OutboundEmail))  # "you were assigned": not what is tested
    db.session.commit()
    return organizer, group, p


def birthdays_of(member, viewer) -> dict:
    return {c.name: c.birthday for c in coworkers_of(db.session, member, viewer=viewer, now=NOW)}


def test_only_co_workers_who_share_and_appear_by_name_have_a_birthday_on_ones_own_list(crew):
    _org, _group, p = crew
    today = (TODAY.month, TODAY.day)
    assert birthdays_of(p["Ai"], p["Ai"]) == {"Bo": today, "Cy": None, None: None}
    # Ai's row on Bo's own list: Ai shares. Ed's too (Bo worked with him).
    assert birthdays_of(p["Bo"], p["Bo"]) == {"Ai": today, "Cy": None, None: None, "Ed": today}
    # On someone else's list nobody's birthday is given: a row there may be a stranger.
    assert set(birthdays_of(p["Bo"], p["Ai"]).values()) == {None}
    assert set(birthdays_of(p["Bo"], p["Ed"]).values()) == {None}
    assert [b.person.name for b in birthdays_this_week(db.session, p["Ai"], now=NOW)] == ["Bo"]


def _rows(page: str) -> dict[str, str]:
    """Each co-worker row of the page by the name it shows."""
    listing = page.split('<ol class="coworkers">')[1].split("</ol>")[0]
    rows = {}
    for row in listing.split("<li>")[1:]:
        name = row.split("<strong")[1].split(">")[1].split("<")[0]
        rows[name] = row
    return rows


def test_the_own_page_shows_shared_birthdays_in_rows_and_this_weeks_box(client, auth, crew):
    _org, _group, p = crew
    auth.login_as(p["Ai"])
    page = client.get(f"/people/{p['Ai'].id}/coworkers").get_data(as_text=True)
    label = f"{TODAY.day} {TODAY.strftime('%B')}"
    rows = _rows(page)
    assert f"Birthday: {label}" in rows["Bo"]
    assert "Birthday" not in rows["Cy"] and "Birthday" not in rows["a member"]
    box = page.split("Birthdays this week")[1].split("</section>")[0]
    assert "Bo" in box and label in box
    for name in ("Ai", "Cy", "Di", "Ed"):  # the owner, not shared, not by name, not co-worked
        assert name not in box
    # The privacy settings offer both choices.
    assert "Show my birthday (month and day) to people I worked with" in page
    assert "Weekly: birthdays this week among people I worked with" in page


def test_nobody_sees_birthdays_on_someone_elses_page(client, auth, crew):
    _org, _group, p = crew
    # Ed shares a group with Ai (her page is visible to him) but never worked with her; Bo
    # worked with her; neither sees any birthday on her page, nor on each other's.
    for viewer, member in (("Ed", "Ai"), ("Bo", "Ai"), ("Ai", "Bo"), ("Ed", "Bo")):
        auth.login_as(p[viewer])
        response = client.get(f"/people/{p[member].id}/coworkers")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Birthday" not in page, (viewer, member)


def test_the_owner_sees_their_own_birthday_on_the_profile_even_when_private(client, auth, crew):
    _org, _group, p = crew
    auth.login_as(p["Cy"])
    page = client.get("/profile").get_data(as_text=True)
    assert f'<option selected value="{TODAY.month}">' in page
    assert f'<option selected value="{TODAY.day}">' in page


def test_the_co_worker_page_keeps_its_query_count_with_birthdays(client, auth, crew, count_queries):
    from tests.test_coworking import page_queries

    _org, _group, p = crew
    auth.login_as(p["Bo"])
    path = f"/people/{p['Bo'].id}/coworkers"
    with_birthdays = page_queries(client, count_queries, path)
    for person in p.values():
        person.share_birthday = False
    db.session.commit()
    assert page_queries(client, count_queries, path) == with_birthdays <= 4


def profile_data(**changes):
    data = {
        "display_name": "Ai Kept",
        "reading": "",
        "bio": "my bio stays",
        "skills": "",
        "locale": "en",
        "timezone": "Asia/Tokyo",
        "birthday_month": "",
        "birthday_day": "",
    }
    return data | changes


@pytest.mark.parametrize(
    ("month", "day", "message", "where"),
    [
        ("2", "30", "February has no day 30.", "birthday_day"),
        ("4", "31", "April has no day 31.", "birthday_day"),
        ("2", "", "Choose the day too, or neither.", "birthday_month"),
        ("", "5", "Choose the month too, or neither.", "birthday_day"),
        ("13", "1", "Not a valid choice", "birthday_month"),
        ("x", "1", "Not a valid choice", "birthday_month"),
    ],
)
def test_a_birthday_that_does_not_exist_is_refused_next_to_its_field(
    client, auth, make, month, day, message, where
):
    member = make.user(locale="en")
    auth.login_as(member)
    response = client.post("/profile", data=profile_data(birthday_month=month, birthday_day=day))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    help_block = page.split(f'id="{where}-help"')[1].split("</div>")[0]
    assert message in help_block
    assert 'value="Ai Kept"' in page and "my bio stays" in page  # nothing typed is lost
    db.session.refresh(member)
    assert member.birthday_month is None and member.display_name != "Ai Kept"


def test_29_february_is_a_birthday_and_it_can_be_cleared(client, auth, make):
    member = make.user(locale="ja")
    auth.login_as(member)
    response = client.post(
        "/profile", data=profile_data(birthday_month="2", birthday_day="29", locale="ja")
    )
    assert response.status_code == 302
    db.session.refresh(member)
    assert (member.birthday_month, member.birthday_day) == (2, 29)
    page = client.get("/profile").get_data(as_text=True)
    assert "誕生日" in page and '<option selected value="29">29</option>' in page
    client.post("/profile", data=profile_data(locale="ja"))
    db.session.refresh(member)
    assert (member.birthday_month, member.birthday_day) == (None, None)


def test_the_privacy_form_saves_both_birthday_choices(client, auth, make):
    member = make.user()
    assert not member.share_birthday and not member.email_birthday_digest  # off by default
    auth.login_as(member)
    client.post(
        "/coworkers/privacy",
        data={
            "coworkers_visibility": "shared_groups",
            "appear_by_name": "y",
            "accept_thanks": "y",
            "share_birthday": "y",
            "email_birthday_digest": "y",
        },
    )
    db.session.refresh(member)
    assert member.share_birthday and member.email_birthday_digest
    client.post(
        "/coworkers/privacy", data={"coworkers_visibility": "shared_groups", "appear_by_name": "y"}
    )
    db.session.refresh(member)
    assert not member.share_birthday and not member.email_birthday_digest


def test_the_profile_offers_the_weekly_email_off_by_default(client, auth, make):
    member = make.user(locale="en")
    auth.login_as(member)
    page = client.get("/profile").get_data(as_text=True)
    assert "Weekly: birthdays this week among people I worked with" in page
    assert 'id="email_birthday_digest" name="email_birthday_digest" type="checkbox" value="y">' in (
        page
    )


def test_this_week_runs_monday_to_sunday_across_new_year_and_29_february():
    week = week_of(date(2026, 12, 31))
    assert week[0] == date(2026, 12, 28) and week[-1] == date(2027, 1, 3)
    assert any(falls_on(1, 2, d) for d in week) and any(falls_on(12, 28, d) for d in week)
    assert not any(falls_on(12, 27, d) for d in week)
    assert falls_on(2, 29, date(2027, 2, 28)) and not falls_on(2, 29, date(2028, 2, 28))
    assert falls_on(2, 29, date(2028, 2, 29))


def test_this_week_is_the_week_on_the_members_clock(crew):
    _org, _group, p = crew
    ai, bo = p["Ai"], p["Bo"]
    # Sunday 20:00 UTC is already Monday 5:00 in Tokyo: Tokyo's week is the next one.
    sunday = next_monday(12) - timedelta(days=1)  # Sunday 12:00 JST = 3:00 UTC
    evening = sunday.replace(hour=20)
    set_birthday(bo, (evening + timedelta(days=1)).date())  # Monday, UTC's next week
    db.session.commit()
    assert [b.person.name for b in birthdays_this_week(db.session, ai, now=evening)] == ["Bo"]
    ai.timezone = "Europe/London"
    db.session.commit()
    assert birthdays_this_week(db.session, ai, now=evening) == []


# The digest -------------------------------------------------------------------------------


@pytest.fixture
def digest_crew(crew):
    """Ai and Bo chose the digest; Bo's birthday is the Wednesday of next week (Tokyo)."""
    _org, _group, p = crew
    monday = next_monday(9)
    set_birthday(p["Bo"], monday.astimezone(TOKYO).date() + timedelta(days=2))
    elsewhere = (monday + timedelta(days=120)).date()  # far from the weeks the tests look at
    for name in ("Ai", "Cy", "Di", "Ed"):
        set_birthday(p[name], elsewhere)
    p["Ai"].email_birthday_digest = True
    p["Bo"].email_birthday_digest = True
    db.session.commit()
    return p, monday


def sent_to(smtp_server, address):
    return smtp_server.to(address)


def test_the_digest_goes_once_a_week_and_again_the_next(digest_crew, smtp_server):
    p, monday = digest_crew
    assert claim_birthday_digests(db.session, now=monday) == 1  # Bo has no co-worker's
    assert claim_birthday_digests(db.session, now=monday) == 0  # a rerun
    assert claim_birthday_digests(db.session, now=monday + timedelta(days=3)) == 0
    assert deliver(db.session, now=monday).sent == 1
    [email] = sent_to(smtp_server, "ai@example.com")
    assert email["Subject"] == "Birthdays this week among people you worked with"
    body = email.get_content()
    wednesday = monday.astimezone(TOKYO).date() + timedelta(days=2)
    assert f"- Bo: {wednesday.day} {wednesday.strftime('%B')}" in body
    assert f"/people/{p['Ai'].id}/coworkers" in body
    assert "Cy" not in body and "Ed" not in body
    key = db.session.scalar(sa.select(OutboundEmail.dedupe_key))
    assert key == digest_key(p["Ai"], monday.astimezone(TOKYO).date())
    assert key.startswith(f"birthdays:{p['Ai'].id}:") and "-W" in key
    # Next year, the same week: Bo's birthday again, a new claim.
    next_year = monday + timedelta(weeks=52)
    while not any(
        falls_on(p["Bo"].birthday_month, p["Bo"].birthday_day, d)
        for d in week_of(next_year.astimezone(TOKYO).date())
    ):
        next_year += timedelta(weeks=1)
    assert claim_birthday_digests(db.session, now=next_year) == 1
    # The week after: no birthday, no email.
    assert claim_birthday_digests(db.session, now=next_year + timedelta(weeks=1)) == 0


def test_the_digest_goes_again_the_next_week_when_a_birthday_falls_in_it(digest_crew, smtp_server):
    p, monday = digest_crew
    assert claim_birthday_digests(db.session, now=monday) == 1
    following = monday + timedelta(weeks=1)
    set_birthday(p["Bo"], following.astimezone(TOKYO).date() + timedelta(days=6))  # Sunday
    db.session.commit()
    assert claim_birthday_digests(db.session, now=following) == 1
    deliver(db.session, now=following)
    assert len(sent_to(smtp_server, "ai@example.com")) == 2


def test_no_digest_before_monday_8_on_the_recipients_clock(digest_crew):
    _p, monday = digest_crew
    assert claim_birthday_digests(db.session, now=monday - timedelta(hours=2)) == 0  # 7:00
    assert claim_birthday_digests(db.session, now=monday - timedelta(hours=1)) == 1  # 8:00


def test_no_digest_when_opted_out_or_nothing_shared(digest_crew, smtp_server):
    p, monday = digest_crew
    p["Ai"].email_birthday_digest = False
    db.session.commit()
    assert claim_birthday_digests(db.session, now=monday) == 0
    p["Ai"].email_birthday_digest = True
    p["Bo"].share_birthday = False
    db.session.commit()
    assert claim_birthday_digests(db.session, now=monday) == 0
    p["Bo"].share_birthday = True
    p["Bo"].appear_by_name = False
    db.session.commit()
    assert claim_birthday_digests(db.session, now=monday) == 0
    # Bo (opted in too) has no co-worker with a shared birthday this week: only Ai's email.
    p["Bo"].appear_by_name = True
    db.session.commit()
    assert claim_birthday_digests(db.session, now=monday) == 1
    deliver(db.session, now=monday)
    assert [m.envelope_to for m in smtp_server.messages] == [["ai@example.com"]]


def test_the_digest_is_in_the_recipients_language(digest_crew, smtp_server):
    p, monday = digest_crew
    p["Ai"].locale = "ja"
    db.session.commit()
    claim_birthday_digests(db.session, now=monday)
    deliver(db.session, now=monday)
    [email] = sent_to(smtp_server, "ai@example.com")
    assert email["Subject"] == "今週誕生日を迎える、一緒に活動した人"
    wednesday = monday.astimezone(TOKYO).date() + timedelta(days=2)
    body = email.get_content()
    assert f"- Boさん：{wednesday.month}月{wednesday.day}日" in body
    assert "Hello" not in body


def test_two_overlapping_runs_write_one_digest(digest_crew, app_factory, smtp_server):
    p, monday = digest_crew
    runner_app = app_factory(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port, MAIL_USE_TLS=False
    )
    barrier = threading.Barrier(2, timeout=30)
    claimed = []

    def cron_run():
        with runner_app.app_context():
            barrier.wait()
            claimed.append(claim_birthday_digests(db.session, now=monday))
            deliver(db.session, now=monday)
            db.session.remove()

    runs = [threading.Thread(target=cron_run) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    assert sorted(claimed) == [0, 1]
    assert [m.envelope_to for m in smtp_server.messages] == [["ai@example.com"]]


def test_the_command_sends_this_weeks_digest_once(crew, runner, smtp_server):
    _org, _group, p = crew
    p["Ai"].email_birthday_digest = True
    today = NOW.astimezone(TOKYO)
    if today.weekday() == 0 and today.hour < 8:
        pytest.skip("the digest is not due before Monday 8:00")
    db.session.commit()
    first = runner.invoke(args=["send-birthday-digest"])
    assert first.exit_code == 0, first.output
    assert "birthday digests queued: 1" in first.output
    again = runner.invoke(args=["send-birthday-digest"])
    assert "birthday digests queued: 0" in again.output
    assert len(sent_to(smtp_server, "ai@example.com")) == 1
