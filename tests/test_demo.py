import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.demo import DEMO_PEOPLE
from studygroup.demo_participants import GUESTS
from studygroup.extensions import db
from studygroup.sessions.models import StudySession


def test_demo_fills_an_empty_database_once(runner, client):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "organizer@example.com" in result.output
    assert "studygroup-demo-2026" in result.output
    users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    assert len(DEMO_PEOPLE) == 30 and users == 30 + len(GUESTS)
    sessions = db.session.scalar(sa.select(sa.func.count()).select_from(StudySession))
    assert sessions >= 12
    again = runner.invoke(args=["demo"])
    assert "already has users" in again.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users
    # The printed login works.
    response = client.post(
        "/login", data={"email": "organizer@example.com", "password": "studygroup-demo-2026"}
    )
    assert response.status_code == 302
    assert "渋谷Python勉強会" in client.get("/organize").get_data(as_text=True)


def test_demo_prints_calendar_urls_that_open(runner, client):
    import re

    result = runner.invoke(args=["demo"])
    urls = re.findall(r"http://127\.0\.0\.1:5000(/\S+\.ics\S*)", result.output)
    assert len(urls) == 2, result.output
    group_path, member_path = urls
    assert group_path.startswith("/g/shibuya-py/calendar.ics")
    assert member_path.startswith("/calendar/member/")
    for path in (group_path, member_path):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.data.count(b"BEGIN:VEVENT") >= 6


def test_the_demo_holds_a_year_of_history(runner):
    """Twelve third Saturdays held (the README's year), the next ones to come, a weekly series,
    thirty members, attendance marked, a talk request to answer and a waitlist."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from studygroup.coworking.group_pairs import group_network
    from studygroup.coworking.services import coworkers_of
    from studygroup.demo import DEMO_SLUG, third_saturday
    from studygroup.groups.models import Group
    from studygroup.sessions.models import SessionSeries
    from studygroup.signups.lists import member_records
    from studygroup.signups.models import Assignment, AssignmentStatus

    assert runner.invoke(args=["demo"]).exit_code == 0
    now = datetime.now(UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    group = db.session.scalar(sa.select(Group).where(Group.slug == DEMO_SLUG))
    series = {
        s.rrule: db.session.scalars(
            sa.select(StudySession)
            .where(StudySession.series_id == s.id)
            .order_by(StudySession.starts_at)
        ).all()
        for s in db.session.scalars(sa.select(SessionSeries))
    }
    monthly = series["FREQ=MONTHLY;BYDAY=+3SA"]
    held = [s for s in monthly if s.starts_at < now]
    days = [s.starts_at.astimezone(tokyo).date() for s in held]
    today = now.astimezone(tokyo).date()
    # On a third Saturday itself, today's meeting is held once it has started.
    expected = 13 if third_saturday(today) == today and held[-1].starts_at.date() == today else 12
    assert len(held) == expected
    assert all(day == third_saturday(day) for day in days)
    assert (days[-1] - days[0]).days >= 330  # a year, not six months
    assert len(monthly) - len(held) >= 5  # and the months to come
    weekly = series["FREQ=WEEKLY;INTERVAL=1;BYDAY=WE"]
    assert (
        sum(s.starts_at < now for s in weekly) >= 7 and sum(s.starts_at >= now for s in weekly) >= 7
    )

    # Suzuki set up the room at every meeting of the year.
    suzuki = db.session.scalar(sa.select(User).where(User.email == "suzuki@example.com"))
    records = {r.user.email: r for r in member_records(db.session, group, now=now)}
    assert records["suzuki@example.com"].sessions_worked == len(held)
    assert sum(r.no_shows for r in records.values()) >= 2
    coworkers = coworkers_of(db.session, suzuki, viewer=suzuki, now=now)
    assert len(coworkers) >= 20
    assert min(c.first for c in coworkers).astimezone(tokyo).date() == days[0]
    # Attendance confirmed for all but the latest meeting.
    assert [s.attendance_confirmed_at is not None for s in held] == [True] * (len(held) - 1) + [
        False
    ]
    statuses = dict(
        db.session.execute(
            sa.select(Assignment.status, sa.func.count()).group_by(Assignment.status)
        ).all()
    )
    assert statuses[AssignmentStatus.REQUESTED] >= 1 and statuses[AssignmentStatus.WAITLISTED] >= 1
    network = group_network(db.session, group, now=now)
    assert len(network.members) == 30 and len(network.ties) >= 30
    # Names of every length: a few long ones for the lists and pictures to cope with.
    assert max(len(u.display_name) for u in network.members.values()) >= 25


def test_demo_members_list_in_50_on_order_by_their_readings(runner):
    """Most demo members gave a reading, so the members list runs あ, い, か... (阿部 before
    伊藤 before 加藤), the order a Japanese reader expects, not the order of the characters."""
    from studygroup.db import utcnow
    from studygroup.demo import DEMO_SLUG
    from studygroup.groups.models import Group
    from studygroup.signups.lists import member_records

    assert runner.invoke(args=["demo"]).exit_code == 0
    group = db.session.scalar(sa.select(Group).where(Group.slug == DEMO_SLUG))
    names = [r.user.display_name for r in member_records(db.session, group, now=utcnow())]
    japanese = [n for n in names if n[0] in "阿伊加"]
    assert japanese[:3] == ["阿部 葵", "伊藤 大輔", "加藤 拓海"], names


def test_the_demo_organizer_opens_a_yearly_list_with_cards_marked(runner, client, auth):
    """/coworkers/year opens on the year whose cards are due next (Tokyo: the ending year in
    December, else last year) when the demo's history reaches into it, else on the other;
    either way with people on it and a few cards marked sent."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from studygroup.coworking.services import coworkers_of
    from studygroup.relationships.services import year_bounds

    assert runner.invoke(args=["demo"]).exit_code == 0
    organizer = db.session.scalar(sa.select(User).where(User.email == "organizer@example.com"))
    now = datetime.now(UTC)
    local = now.astimezone(ZoneInfo("Asia/Tokyo"))
    due = local.year if local.month == 12 else local.year - 1
    other = local.year - 1 if local.month == 12 else local.year
    since, until = year_bounds(due, organizer.timezone)
    due_people = coworkers_of(
        db.session, organizer, viewer=organizer, now=now, since=since, until=until
    )
    expected = due if due_people else other
    auth.login_as(organizer)
    response = client.get("/coworkers/year")
    assert response.location.startswith(f"/coworkers/year/{expected}")
    page = client.get(f"/coworkers/year/{expected}").get_data(as_text=True)
    people = page.count('name="sent"')
    assert people >= 3
    marked = (people + 2) // 3
    assert f"{marked} of {people} cards sent" in page or f"{people}人中{marked}人に送付済み" in page


def test_the_demo_shows_birthdays_this_week_on_the_first_run(runner, client):
    """Two of Suzuki's co-workers have shared birthdays this week (Tokyo); Ito's (not by
    name) and Yamamoto's (private) are never shown; Suzuki chose the weekly digest."""
    from datetime import UTC, datetime

    from studygroup.relationships.birthdays import birthdays_this_week

    assert runner.invoke(args=["demo"]).exit_code == 0
    suzuki = db.session.scalar(sa.select(User).where(User.email == "suzuki@example.com"))
    assert suzuki.email_birthday_digest
    found = birthdays_this_week(db.session, suzuki, now=datetime.now(UTC))
    assert sorted(b.person.name for b in found) == ["田中 翔", "高橋 健太"]
    client.post("/login", data={"email": "suzuki@example.com", "password": "studygroup-demo-2026"})
    page = client.get(f"/people/{suzuki.id}/coworkers").get_data(as_text=True)
    box = page.split("今週の誕生日")[1].split("</section>")[0]
    assert "高橋 健太" in box and "田中 翔" in box and "山本" not in box


def test_the_demo_organizer_sees_an_accepted_and_a_waiting_introduction(runner, client, auth):
    """On first run /introductions shows the organizer one introduction of each kind: Priya
    (both accepted: her name and address) and the one they made (waiting)."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    organizer = db.session.scalar(sa.select(User).where(User.email == "organizer@example.com"))
    auth.login_as(organizer)
    page = client.get("/introductions").get_data(as_text=True)
    accepted = page.split('id="accepted"')[1].split('id="made"')[0]
    made = page.split('id="made"')[1]
    assert "Priya Nair" in accepted and "priya@example.com" in accepted
    assert "鈴木 花子さんと山口 美月さん" in made and "回答待ち" in made
    coworkers = client.get(f"/people/{organizer.id}/coworkers").get_data(as_text=True)
    assert "Daniel Fischerさんの紹介" in coworkers
    # Suzuki accepted; Yamaguchi still has it to answer (the header counts it).
    yamaguchi = db.session.scalar(sa.select(User).where(User.email == "yamaguchi@example.com"))
    auth.login_as(yamaguchi)
    assert "回答待ち1件" in client.get("/introductions").get_data(as_text=True)


def test_the_demo_setup_crew_sees_someone_not_seen_for_a_while(runner, client):
    """Goto worked reception at the year's first four meetings, then was away: the setup crew
    (Suzuki) worked with her three times (she missed the fourth: a no-show), the last over six
    months ago, and sees her under "Not seen for a while" with the coming meeting she signed up
    for (no URL typed: the nav)."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    client.post("/login", data={"email": "suzuki@example.com", "password": "studygroup-demo-2026"})
    home = client.get("/").get_data(as_text=True)
    assert 'href="/coworkers"' in home
    page = client.get("/coworkers", follow_redirects=True).get_data(as_text=True)
    section = page.split("しばらく一緒に活動していない人")[1].split("</section>")[0]
    assert "後藤 恵" in section
    assert "一緒に3回、最後は" in section
    assert "渋谷Python勉強会 第" in section


def test_the_demo_answers_who_knows_x_on_the_first_run(runner, client):
    """Suzuki searches from the home page's box: 生産管理 finds Kimura (a co-worker, cleanup
    beside her setup) and Goto; ｋｕｂｅｒｎｅｔｅｓ (full width) finds Takahashi first."""
    assert runner.invoke(args=["demo"]).exit_code == 0
    client.post("/login", data={"email": "suzuki@example.com", "password": "studygroup-demo-2026"})
    assert 'action="/people/search"' in client.get("/").get_data(as_text=True)
    page = client.get("/people/search", query_string={"q": "生産管理"}).get_data(as_text=True)
    assert "木村 大和" in page and "後藤 恵" in page
    page = client.get("/people/search", query_string={"q": "ｋｕｂｅｒｎｅｔｅｓ"}).get_data(
        as_text=True
    )
    assert "高橋 健太" in page and "Daniel Fischer" in page
    assert page.index("高橋 健太") < page.index("Daniel Fischer")  # side by side every month


def test_the_demo_forms_a_team_once_an_organizer_lets_it(runner):
    """Switched to "organizers form the team", the meeting after next gets a suggestion at
    once: every open place filled from the members who can help, the two who offered help
    twice without a place seated first, and a first-timer beside someone experienced. The
    next meeting holds Tanaka's offered setup place."""
    from datetime import UTC, datetime

    from studygroup.demo import DEMO_SLUG
    from studygroup.demo_staffing import CAN_HELP, WAITED
    from studygroup.groups.models import FillMode, Group
    from studygroup.signups.forming import suggested_team
    from studygroup.signups.models import PlaceOffer

    assert runner.invoke(args=["demo"]).exit_code == 0
    now = datetime.now(UTC)
    group = db.session.scalar(sa.select(Group).where(Group.slug == DEMO_SLUG))
    people = {u.email.split("@")[0]: u for u in db.session.scalars(sa.select(User))}
    group.fill_mode = FillMode.FORMED
    db.session.flush()
    monthly = db.session.scalars(
        sa.select(StudySession)
        .where(
            StudySession.group_id == group.id,
            StudySession.starts_at > now,
            StudySession.title.contains("第"),
        )
        .order_by(StudySession.starts_at)
    ).all()
    team = suggested_team(db.session, monthly[1], now=now)
    picks = {p.user_id: p for p in team.suggestion.picks}
    # Setup 3, reception 1 (Goto holds the other), cleanup 2: all filled, all by helpers.
    assert len(picks) == 6 and not team.suggestion.unfilled
    assert set(picks) <= {people[name].id for name, _roles, _note in CAN_HELP}
    for name in WAITED:
        first = picks[people[name].id].reasons[0]
        assert (first.kind, first.count) == ("waited", 2), name
    kinds = {r.kind for p in picks.values() for r in p.reasons}
    assert "first_time" in kinds and "new_pair" in kinds

    offer = db.session.scalar(sa.select(PlaceOffer))
    assert offer.status == "open"
    assert offer.place.user_id == people["tanaka"].id
    assert offer.place.slot.session_id == monthly[0].id


def _counts(session):
    from studygroup.participants.models import Participant, ParticipantStatus

    rows = db.session.execute(
        sa.select(Participant.status, Participant.checked_in_at.is_not(None), sa.func.count())
        .where(Participant.session_id == session.id)
        .group_by(Participant.status, Participant.checked_in_at.is_not(None))
    ).all()
    registered = sum(n for status, _c, n in rows if status == ParticipantStatus.REGISTERED)
    waitlisted = sum(n for status, _c, n in rows if status == ParticipantStatus.WAITLISTED)
    checked_in = sum(n for _s, checked, n in rows if checked)
    return registered, waitlisted, checked_in


def test_the_demo_meetings_take_participants_and_today_reception_is_open(runner, client):
    """Every monthly meeting takes 40 with the two questions; the past ones had 20-35
    registered, most checked in and a few no-shows; the next has about 25 and room (and
    Kobayashi not on it). Today's hands-on (Tokyo's date) is full with two waiting, five
    checked in, Maria registered and not yet in; Watanabe, printed as reception today,
    opens its check-in page in the app; the next meeting's announcement reached its
    participants in both languages."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from studygroup.announcements.models import Announcement, AnnouncementRecipient, Audience
    from studygroup.checkin.access import Access, check_in_access
    from studygroup.checkin.search import checkin_counts
    from studygroup.demo_participants import (
        AFFILIATION,
        MONTHLY_CAPACITY,
        PARTY,
        TODAY_CAPACITY,
        today_session,
    )
    from studygroup.participants.models import Participant, ParticipantStatus
    from studygroup.participants.services import questions_of

    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "watanabe@example.com     reception today" in result.output
    assert "maria@example.com" in result.output
    now = datetime.now(UTC)
    people = {u.email.split("@")[0]: u for u in db.session.scalars(sa.select(User))}
    # The history was written with registration emails off; everyone has them on again.
    assert all(u.email_signups and u.email_waitlist for u in people.values())
    monthly = db.session.scalars(
        sa.select(StudySession)
        .where(StudySession.title.contains("第"))
        .order_by(StudySession.starts_at)
    ).all()
    held = [s for s in monthly if s.starts_at < now]
    upcoming = [s for s in monthly if s.starts_at >= now]
    assert all(s.participant_capacity == MONTHLY_CAPACITY for s in monthly)
    for session in held:
        registered, waitlisted, checked_in = _counts(session)
        assert 20 <= registered <= 35 and waitlisted == 0, session.title
        assert registered * 0.7 <= checked_in < registered, session.title  # a few no-shows
        assert [(q.text, q.kind.value) for q in questions_of(db.session, session)] == [
            (AFFILIATION, "text"),
            (PARTY, "yes_no"),
        ]
    registered, waitlisted, checked_in = _counts(upcoming[0])
    assert (registered, waitlisted, checked_in) == (25, 0, 0)
    kobayashi = db.session.scalar(
        sa.select(Participant).where(
            Participant.session_id == upcoming[0].id, Participant.user_id == people["kobayashi"].id
        )
    )
    assert kobayashi is None  # the browser walk registers her

    today = today_session(db.session)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert today.starts_at.astimezone(tokyo).date() == now.astimezone(tokyo).date()
    assert today.participant_capacity == TODAY_CAPACITY
    assert _counts(today) == (TODAY_CAPACITY, 2, 5)
    counts = checkin_counts(db.session, today)
    assert (counts.staff_checked_in, counts.staff) == (4, 5)  # the speaker is not there yet
    maria = db.session.scalar(
        sa.select(Participant).where(
            Participant.session_id == today.id, Participant.user_id == people["maria"].id
        )
    )
    assert maria.status == ParticipantStatus.REGISTERED and maria.checked_in_at is None
    watanabe = people["watanabe"]
    assert check_in_access(db.session, watanabe, today, now) == Access.OPEN
    assert check_in_access(db.session, people["suzuki"], today, now) == Access.FORBIDDEN

    client.post(
        "/login", data={"email": "watanabe@example.com", "password": "studygroup-demo-2026"}
    )
    page = client.get(f"/g/shibuya-py/sessions/{today.id}/checkin").get_data(as_text=True)
    assert "受付済み 5 / 20人" in page  # Watanabe reads Japanese

    # The next meeting's announcement reached its participants too, each in their language.
    announcement = db.session.scalar(
        sa.select(Announcement).where(Announcement.audience == Audience.SESSION)
    )
    assert announcement.session_id == upcoming[0].id
    told = set(
        db.session.scalars(
            sa.select(AnnouncementRecipient.user_id).where(
                AnnouncementRecipient.announcement_id == announcement.id
            )
        )
    )
    participants = set(
        db.session.scalars(
            sa.select(Participant.user_id).where(Participant.session_id == upcoming[0].id)
        )
    )
    assert participants <= told
    locales = {u.locale for u in people.values() if u.id in participants}
    assert locales == {"ja", "en"}


def test_late_in_the_evening_in_tokyo_today_s_session_is_still_today(runner, monkeypatch):
    """Run at 23:50 in Tokyo, the hands-on is still on that day (already over), so
    reception can still open the check-in page."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    import studygroup.demo
    from studygroup.checkin.access import Access, check_in_access
    from studygroup.demo_participants import today_session

    tokyo = ZoneInfo("Asia/Tokyo")
    late = datetime.now(tokyo).replace(hour=23, minute=50).astimezone(UTC)
    monkeypatch.setattr(studygroup.demo, "utcnow", lambda: late)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    today = today_session(db.session)
    assert today.starts_at.astimezone(tokyo).date() == late.astimezone(tokyo).date()
    assert today.ends_at < late
    assert _counts(today) == (20, 2, 5)
    watanabe = db.session.scalar(sa.select(User).where(User.email == "watanabe@example.com"))
    assert check_in_access(db.session, watanabe, today, late) == Access.OPEN
