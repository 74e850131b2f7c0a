"""The suggested team for organizers: gathering the data, swaps, accepting, refilling a
place given up, and the organizers' email (studygroup.signups.forming)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
import vobject

from studygroup.calendar import feeds
from studygroup.extensions import db
from studygroup.groups.models import FillMode, MemberRole
from studygroup.mail.models import OutboundEmail
from studygroup.signups import forming
from studygroup.signups.models import (
    Assignment,
    AssignmentStatus,
    Attendance,
    Availability,
    AvailabilityRole,
    StaffingChange,
    TeamChoice,
)
from studygroup.signups.organizing import assign
from studygroup.signups.services import cancel_place
from tests.factories import slots_of

NOW = datetime.now(UTC)


def can_help(user, session, roles=None, note=""):
    a = Availability(
        user_id=user.id, session_id=session.id, any_role=roles is None, note=note, created_at=NOW
    )
    db.session.add(a)
    db.session.flush()
    for role_slot in roles or ():
        db.session.add(AvailabilityRole(availability_id=a.id, role_type_id=role_slot.role_type_id))
    db.session.commit()
    return a


@pytest.fixture
def formed(make):
    """A group whose setup and reception are formed (speaker stays by request), a session
    in 12 days with setup 09:00-10:00 (3 places) and reception 09:30-10:30 (2 places)."""
    organizer = make.user(display_name="Oga", email="oga@example.com", locale="en")
    group = make.group(organizer)
    group.fill_mode = FillMode.FORMED
    db.session.commit()
    session = make.session(group, day=date.today() + timedelta(days=12), title="第12回")
    return organizer, group, session


def members(make, group, n, *, locale=None):
    return [make.member(group, make.user(locale=locale)) for _ in range(n)]


def picked(team):
    return {(p.slot_id, p.user_id) for p in team.suggestion.picks}


# --- gathering ----------------------------------------------------------------------------


def test_gathering_counts_places_and_respects_overlap_preferences_and_approval(formed, make):
    organizer, group, session = formed
    setup, reception, speaker = slots_of(session).values()
    a, b, c, d = members(make, group, 4)
    holder = make.member(group)
    assign(db.session, organizer=organizer, member=holder, slot=setup, now=NOW)
    db.session.commit()
    can_help(a, session)
    can_help(b, session, roles=[reception])
    can_help(c, session, roles=[speaker])  # only the speaker, who is by request: not a candidate
    can_help(holder, session)  # holds setup, which overlaps reception
    can_help(d, session)
    make.member(group)  # a member who said nothing

    data, context = forming.team_input(db.session, session, now=NOW)
    places = {s.slot_id: s.places for s in data.slots}
    assert places == {setup.id: 2, reception.id: 2, speaker.id: 0}
    by_id = {c.user_id: c for c in data.candidates}
    assert set(by_id) == {a.id, b.id, d.id, holder.id}
    assert by_id[b.id].roles == frozenset({reception.role_type_id})
    assert by_id[a.id].roles is None
    assert by_id[holder.id].blocked_slots == frozenset({setup.id, reception.id})
    assert context.not_candidates == {c.id: forming.PREFERS_OTHER_ROLES}
    assert [(h.user_id, h.slot_id) for h in data.holders] == [(holder.id, setup.id)]

    team = forming.suggested_team(db.session, session, now=NOW)
    assert all(s != speaker.id for s, _ in picked(team))  # approval roles: never suggested
    assert (setup.id, holder.id) not in picked(team) and (reception.id, holder.id) not in picked(
        team
    )
    assert (setup.id, b.id) not in picked(team)  # b prefers reception
    assert len([1 for s, _ in picked(team) if s == setup.id]) <= 2
    assert team.unsuggested[holder.id] in (forming.OVERLAP, forming.HAS_PLACE)
    assert team.unsuggested[c.id] == forming.PREFERS_OTHER_ROLES


def test_members_over_the_no_show_limit_are_listed_not_suggested(formed, make):
    organizer, group, session = formed
    group.no_show_limit = 1
    db.session.commit()
    flaky, steady = members(make, group, 2)
    past = make.session(group, day=date.today() - timedelta(days=20))
    place = assign(
        db.session, organizer=organizer, member=flaky, slot=slots_of(past)["setup"], now=NOW
    ).place
    place.attendance = Attendance.NO_SHOW
    db.session.commit()
    can_help(flaky, session)
    can_help(steady, session)

    data, context = forming.team_input(db.session, session, now=NOW)
    assert [c.user_id for c in data.candidates] == [steady.id]
    assert context.not_candidates == {flaky.id: forming.NO_SHOW}


def test_history_times_in_role_recent_places_and_ties(formed, make):
    organizer, group, session = formed
    a, b = members(make, group, 2)
    for days in (30, 60, 400):
        past = make.session(group, day=date.today() - timedelta(days=days))
        for m in (a, b):
            assign(db.session, organizer=organizer, member=m, slot=slots_of(past)["setup"], now=NOW)
    db.session.commit()
    can_help(a, session)
    can_help(b, session)
    data, _context = forming.team_input(db.session, session, now=NOW)
    by_id = {c.user_id: c for c in data.candidates}
    setup_type = slots_of(session)["setup"].role_type_id
    assert by_id[a.id].times_in_role == {setup_type: 3}
    assert by_id[a.id].recent_places == 2  # the one 400 days ago is not recent
    assert data.ties == {(min(a.id, b.id), max(a.id, b.id)): 3}


def test_gathering_takes_a_fixed_number_of_queries(formed, make, count_queries):
    organizer, group, session = formed
    people = members(make, group, 3)
    past = make.session(group, day=date.today() - timedelta(days=9))
    for m in people:
        can_help(m, session)
        can_help(m, past)
        assign(db.session, organizer=organizer, member=m, slot=slots_of(past)["setup"], now=NOW)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as few:
        forming.suggested_team(db.session, session, now=NOW)
    more = members(make, group, 12)
    earlier = make.session(group, day=date.today() - timedelta(days=40))
    for m in more:
        can_help(m, session)
        can_help(m, earlier)
    for m in more[:3]:
        assign(db.session, organizer=organizer, member=m, slot=slots_of(earlier)["setup"], now=NOW)
    db.session.commit()
    db.session.expire_all()
    with count_queries() as many:
        forming.suggested_team(db.session, session, now=NOW)
    assert many.count == few.count


def test_reasons_read_the_same_in_both_languages(app, make):
    from flask_babel import force_locale

    from studygroup.signups.team_words import reason_text, reasons_text, unsuggested_text
    from studygroup.signups.teams import Reason

    suzuki = make.user(display_name="鈴木")
    ito = make.user(display_name="Ito")
    users = {suzuki.id: suzuki, ito.id: ito}
    first = Reason("first_time", other_user_id=suzuki.id, count=8)
    pair = Reason("new_pair", other_user_id=ito.id, count=1)
    waited = Reason("waited", count=3)
    with app.test_request_context(), force_locale("en"):
        assert reason_text(first, role="reception", users=users) == (
            "first time at reception, with 鈴木 (8 times)"
        )
        assert reason_text(pair, role="reception", users=users) == (
            "new pair: never worked with Ito"
        )
        assert reason_text(waited, role="", users=users) == ("offered help 3 times without a place")
        assert unsuggested_text(forming.NO_SHOW) == "over the group's no-show limit"
    with app.test_request_context(), force_locale("ja"):
        assert reasons_text([first, pair], role="受付", users=users) == (
            "初めての受付。鈴木さん（8回）と一緒。新しい組み合わせ：Itoさんとは初めて"
        )
        assert unsuggested_text(forming.PREFERS_OTHER_ROLES) == "ほかの役割を希望"


# --- the page, swaps ----------------------------------------------------------------------


def test_page_access(formed, make, client, auth):
    organizer, group, session = formed
    member = make.member(group)
    other_group = make.group(organizer)
    other = make.session(other_group)
    auth.login_as(member)
    assert client.get(f"/g/{group.slug}/sessions/{session.id}/team").status_code == 403
    assert client.post(f"/g/{group.slug}/sessions/{session.id}/team/accept").status_code == 403
    auth.login_as(organizer)
    assert client.get(f"/g/{group.slug}/sessions/{other.id}/team").status_code == 404
    assert client.get(f"/g/{group.slug}/sessions/{session.id}/team").status_code == 200


def test_page_shows_the_team_with_reasons_and_the_swap_persists(formed, make, client, auth):
    organizer, group, session = formed
    people = members(make, group, 6)
    for m in people:
        can_help(m, session, note="only until 11:00" if m is people[0] else "")
    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/sessions/{session.id}/team")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Suggested team" in html and "Setup" in html and "Reception" in html
    assert "only until 11:00" in html
    team = forming.suggested_team(db.session, session, now=NOW)
    setup = slots_of(session)["setup"]
    out = team.picks_for(setup.id)[0].user_id
    chosen = team.swap_choices(setup.id)[0]
    assert chosen.id not in {p.user_id for p in team.picks_for(setup.id)}
    prefix = f"swap-{setup.id}-{out}"
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/team/swap",
        data={
            f"{prefix}-slot_id": setup.id,
            f"{prefix}-out_user_id": out,
            f"{prefix}-user_id": chosen.id,
        },
    )
    assert response.status_code == 302
    # Every organizer sees the same draft: it is stored, not kept in one browser.
    co = make.member(group, role=MemberRole.ORGANIZER)
    auth.login_as(co)
    db.session.expire_all()
    after = forming.suggested_team(db.session, session, now=NOW)
    assert (setup.id, chosen.id) in picked(after)
    assert (setup.id, out) not in picked(after)
    chosen_pick = next(p for p in after.picks_for(setup.id) if p.user_id == chosen.id)
    assert [r.kind for r in chosen_pick.reasons][:1] == ["chosen"]
    html = client.get(f"/g/{group.slug}/sessions/{session.id}/team").get_data(as_text=True)
    assert "chosen by an organizer" in html

    # Someone who cannot take the place: the error beside the field, nothing saved.
    before = db.session.scalar(sa.select(sa.func.count()).select_from(TeamChoice))
    stranger = make.member(group)  # never said they can help
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/team/swap",
        data={
            f"{prefix}-slot_id": setup.id,
            f"{prefix}-out_user_id": chosen.id,
            f"{prefix}-user_id": stranger.id,
        },
    )
    assert response.status_code == 422
    assert "cannot take this place" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TeamChoice)) == before

    # Nobody chosen: asked to choose, beside the field.
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/team/swap",
        data={
            f"{prefix}-slot_id": setup.id,
            f"{prefix}-out_user_id": chosen.id,
            f"{prefix}-user_id": "",
        },
    )
    assert response.status_code == 422
    assert "Choose who takes the place." in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TeamChoice)) == before

    client.post(f"/g/{group.slug}/sessions/{session.id}/team/reset")
    db.session.expire_all()
    assert forming.current_choices(db.session, session) == ((), ())


def test_page_in_japanese(formed, make, client, auth):
    organizer, group, session = formed
    organizer.locale = "ja"
    db.session.commit()
    for m in members(make, group, 3):
        can_help(m, session)
    auth.login_as(organizer)
    html = client.get(f"/g/{group.slug}/sessions/{session.id}/team").get_data(as_text=True)
    assert "おすすめの担当" in html and "設営" in html


def test_page_statements_do_not_grow_with_members(formed, make, client, auth, count_queries):
    organizer, group, session = formed
    for m in members(make, group, 3):
        can_help(m, session)
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/team"
    client.get(url)
    with count_queries() as few:
        assert client.get(url).status_code == 200
    for m in members(make, group, 15):
        can_help(m, session)
    with count_queries() as many:
        assert client.get(url).status_code == 200
    assert many.count == few.count


# --- accepting ----------------------------------------------------------------------------


def test_accept_creates_places_emails_in_each_language_and_feed_events(
    formed, make, client, auth, smtp_server
):
    organizer, group, session = formed
    en = members(make, group, 2, locale="en")
    ja = [
        make.member(
            group, make.user(display_name=f"日本{i}", email=f"ja{i}@example.com", locale="ja")
        )
        for i in range(2)
    ]
    for m in en + ja:
        can_help(m, session)
    team = forming.suggested_team(db.session, session, now=NOW)
    assert len(team.suggestion.picks) == 4
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/team/accept", data={"key": team.key}
    )
    assert response.status_code == 302
    db.session.expire_all()
    places = db.session.scalars(
        sa.select(Assignment).where(Assignment.status == AssignmentStatus.CONFIRMED)
    ).all()
    assert {(p.slot_id, p.user_id) for p in places} == picked(team)
    assert all(p.added_by_id == organizer.id for p in places)
    logged = db.session.scalars(
        sa.select(StaffingChange.action).where(StaffingChange.session_id == session.id)
    ).all()
    assert logged.count("assigned") == 4
    db.session.refresh(session)
    assert session.team_accepted_at is not None and session.team_accepted_by_id == organizer.id

    [english] = smtp_server.to(en[0].email)
    assert english["Subject"].startswith("You are on the team: ")
    assert "第12回" in english["Subject"]
    assert "The organizers formed the team" in english.get_content()
    [japanese] = smtp_server.to("ja0@example.com")
    assert "第12回" in japanese["Subject"]
    assert "You are on the team" not in japanese["Subject"]
    assert "主催者" in japanese.get_content()

    # The place is in the member's schedule and calendar feed.
    auth.login_as(en[0])
    assert "第12回" in client.get("/schedule").get_data(as_text=True)
    data = feeds.member_feed_data(db.session, en[0], now=NOW)
    body = feeds.member_feed(
        en[0],
        data,
        options=feeds.FeedOptions(
            locale="en", base_url="https://sg.example", uid_domain="sg.example"
        ),
    )
    vobject.icalendar.__dict__["__tzidMap"].clear()
    calendar = vobject.readOne(body.decode("utf-8"))
    place = next(p for p in places if p.user_id == en[0].id)
    assert f"place-{place.id}@sg.example" in {e.uid.value for e in calendar.contents["vevent"]}


def test_accepting_a_stale_team_asks_again_and_saves_nothing(formed, make, client, auth):
    organizer, group, session = formed
    people = members(make, group, 2)
    for m in people:
        can_help(m, session)
    shown = forming.suggested_team(db.session, session, now=NOW)
    late = make.member(group)
    can_help(late, session)  # a third member changes the team
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/{session.id}/team/accept", data={"key": shown.key}
    )
    assert response.status_code == 409
    assert "has changed since you saw it" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0
    db.session.expire_all()
    assert db.session.get(type(session), session.id).team_accepted_at is None


def test_accept_without_csrf_is_refused(formed, make, client, auth, app):
    organizer, group, session = formed
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        for m in members(make, group, 2):
            can_help(m, session)
        key = forming.suggested_team(db.session, session, now=NOW).key
        auth.login_as(organizer)
        response = client.post(
            f"/g/{group.slug}/sessions/{session.id}/team/accept", data={"key": key}
        )
        assert response.status_code in (400, 422)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


# --- refilling ----------------------------------------------------------------------------


def test_a_declined_place_goes_to_the_next_suggestion(formed, make, smtp_server):
    organizer, group, session = formed
    reception = slots_of(session)["reception"]
    people = members(make, group, 4)
    for m in people:
        can_help(m, session, roles=[reception])
    team = forming.suggested_team(db.session, session, now=NOW)
    forming.accept_team(db.session, organizer=organizer, session=session, key=team.key, now=NOW)
    db.session.commit()
    placed = db.session.scalars(
        sa.select(Assignment).where(Assignment.slot_id == reception.id).order_by(Assignment.id)
    ).all()
    assert len(placed) == 2
    waiting = {m.id for m in people} - {p.user_id for p in placed}

    gone = placed[0]
    cancel_place(db.session, place=gone, actor=gone.user, now=NOW, by_organizer=False)
    db.session.commit()
    live = db.session.scalars(
        sa.select(Assignment).where(
            Assignment.slot_id == reception.id, Assignment.status == AssignmentStatus.CONFIRMED
        )
    ).all()
    assert len(live) == 2
    newcomer = next(p for p in live if p.user_id != placed[1].user_id)
    assert newcomer.user_id in waiting
    assert newcomer.added_by_id is None  # the suggestion filled it, nobody by hand
    told = db.session.scalars(
        sa.select(OutboundEmail.kind).where(OutboundEmail.user_id == newcomer.user_id)
    ).all()
    assert told == ["team_place"]
    assert gone.user_id not in {p.user_id for p in live}
    # The one who gave it up is not suggested there again.
    team = forming.suggested_team(db.session, session, now=NOW)
    assert team.unsuggested.get(gone.user_id) == forming.ROLES_FULL
    assert all(p.user_id != gone.user_id for p in team.suggestion.picks)


def test_no_refill_before_the_team_is_accepted(formed, make):
    organizer, group, session = formed
    reception = slots_of(session)["reception"]
    a, b = members(make, group, 2)
    can_help(b, session)
    place = assign(db.session, organizer=organizer, member=a, slot=reception, now=NOW).place
    db.session.commit()
    cancel_place(db.session, place=place, actor=organizer, now=NOW, by_organizer=True)
    db.session.commit()
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.status == AssignmentStatus.CONFIRMED)
        )
        == 0
    )


# --- the organizers' email ----------------------------------------------------------------


def test_organizers_get_the_suggested_team_once(formed, make, runner, smtp_server):
    organizer, group, session = formed
    group.team_days_before = 14
    db.session.commit()
    co = make.member(
        group,
        make.user(display_name="共同", email="co@example.com", locale="ja"),
        role=MemberRole.ORGANIZER,
    )
    far = make.session(group, day=date.today() + timedelta(days=40), title="Later")
    for m in members(make, group, 3):
        can_help(m, session)
        can_help(m, far)
    result = runner.invoke(args=["send-team-suggestions"])
    assert result.exit_code == 0, result.output
    assert "team suggestions queued: 2" in result.output
    [english] = smtp_server.to("oga@example.com")
    assert english["Subject"] == "Suggested team: 第12回"
    body = english.get_content()
    assert "Setup" in body and " — " in body
    assert f"/g/{group.slug}/sessions/{session.id}/team" in body
    [japanese] = smtp_server.to("co@example.com")
    assert "設営" in japanese.get_content()
    again = runner.invoke(args=["send-team-suggestions"])
    assert "team suggestions queued: 0" in again.output
    assert len(smtp_server.messages) == 2
    keys = db.session.scalars(sa.select(OutboundEmail.dedupe_key)).all()
    assert sorted(keys) == sorted(
        [f"team-suggestion:{session.id}:{organizer.id}", f"team-suggestion:{session.id}:{co.id}"]
    )


def test_two_organizers_accepting_at_once_place_the_team_once(formed, make, app_factory):
    import threading

    from studygroup.auth.models import User
    from studygroup.rules import RuleViolation
    from studygroup.sessions.models import StudySession

    organizer, group, session = formed
    co = make.member(group, role=MemberRole.ORGANIZER)
    for m in members(make, group, 5):
        can_help(m, session)
    key = forming.suggested_team(db.session, session, now=NOW).key
    racing = app_factory(
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 5, "max_overflow": 0, "pool_timeout": 30}
    )
    barrier = threading.Barrier(2, timeout=30)
    outcomes = []

    def accept(user_id):
        with racing.app_context():
            who = db.session.get(User, user_id)
            target = db.session.get(StudySession, session.id)
            target.group  # noqa: B018  (loaded before the race, as a request would)
            barrier.wait()
            try:
                forming.accept_team(db.session, organizer=who, session=target, key=key, now=NOW)
                db.session.commit()
                outcomes.append("accepted")
            except forming.TeamChanged:
                db.session.rollback()
                outcomes.append("asked again")
            except RuleViolation as refused:
                db.session.rollback()
                outcomes.append(str(refused.message))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=accept, args=(u,)) for u in (organizer.id, co.id)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["accepted", "asked again"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 5
