"""What a member feed's events show of their co-workers moves those events' change times, so
clients that apply only newer versions of an event pick the change up."""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from studygroup.auth.models import User
from studygroup.calendar import feeds
from studygroup.extensions import db
from studygroup.groups.models import Group, RoleType
from studygroup.groups.role_types import role_types_of
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.organizing import assign
from tests.factories import PASSWORD, slots_of
from tests.test_calendar import events, member_body


def stamps(member) -> dict[str, tuple[datetime, datetime]]:
    return {
        uid: (event.dtstamp.value, event.contents["last-modified"][0].value)
        for uid, event in events(member_body(member)).items()
    }


def _aoi_with_and_without_ben(make):
    """Aoi works two sessions: one with Ben, one with Cai. Everything in them was last changed
    an hour ago, so a change now shows as a later second."""
    organizer = make.user(display_name="Org")
    group = make.group(organizer)
    aoi = make.member(group, make.user(display_name="Aoi"))
    ben = make.member(group, make.user("ben@example.com", display_name="Ben"))
    cai = make.member(group, make.user(display_name="Cai"))
    with_ben = make.session(group, day=date.today() + timedelta(days=20))
    without_ben = make.session(group, day=date.today() + timedelta(days=27))
    now = datetime.now(UTC)
    for member, session, role in (
        (aoi, with_ben, "reception"),
        (ben, with_ben, "setup"),
        (aoi, without_ben, "reception"),
        (cai, without_ben, "setup"),
    ):
        assign(
            db.session, organizer=organizer, member=member, slot=slots_of(session)[role], now=now
        )
    db.session.commit()
    an_hour_ago = now - timedelta(hours=1)
    for model in (User, Group, RoleType, StudySession, Assignment):
        db.session.execute(sa.update(model).values(updated_at=an_hour_ago))
    db.session.execute(sa.update(User).values(shown_changed_at=an_hour_ago))
    db.session.commit()
    return group, aoi, ben, with_ben, without_ben, an_hour_ago


def test_a_coworkers_new_name_or_hidden_name_moves_only_their_sessions_events(make):
    group, aoi, ben, with_ben, without_ben, an_hour_ago = _aoi_with_and_without_ben(make)
    place_with = f"place-{_place(aoi, with_ben).id}@sg.example"
    place_without = f"place-{_place(aoi, without_ben).id}@sg.example"
    before = stamps(aoi)
    assert set(before) == {place_with, place_without}

    steps = [
        ("renamed", lambda: setattr(ben, "display_name", "Benjamin"), "Benjamin (Setup)"),
        ("hides name", lambda: setattr(ben, "appear_by_name", False), "a member (Setup)"),
    ]
    for what, change, shown in steps:
        version = feeds.member_feed_version(db.session, aoi, now=datetime.now(UTC)).key
        change()
        db.session.commit()
        assert feeds.member_feed_version(db.session, aoi, now=datetime.now(UTC)).key != version
        assert shown in events(member_body(aoi))[place_with].description.value
        after = stamps(aoi)
        assert after[place_with][0] > before[place_with][0], what  # DTSTAMP
        assert after[place_with][1] > before[place_with][1], what  # LAST-MODIFIED
        assert after[place_without] == before[place_without], what
        # Back an hour, so that the next step shows as later again.
        db.session.execute(sa.update(User).values(shown_changed_at=an_hour_ago))
        db.session.commit()
        before = stamps(aoi)

    # The co-workers' role (Ben's and Cai's), shown next to them, counts too.
    setup = next(r for r in role_types_of(db.session, group) if r.key == "setup")
    setup.name = "Stage crew"
    db.session.commit()
    after = stamps(aoi)
    for uid in (place_with, place_without):
        assert after[uid][0] > before[uid][0] and after[uid][1] > before[uid][1]


def _place(member, session) -> Assignment:
    return db.session.scalar(
        sa.select(Assignment)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(Assignment.user_id == member.id, RoleSlot.session_id == session.id)
    )


def test_a_coworkers_logout_password_or_profile_edits_move_no_stamp(make, client, auth):
    """Only what an event shows moves its change time: Ben logging out (a new session
    token), changing his password, or saving his profile with a new bio, skills or email
    choices but the same name leaves Aoi's events as they were."""
    _group, aoi, ben, *_ = _aoi_with_and_without_ben(make)
    before = stamps(aoi)
    updated = ben.updated_at
    profile = {
        "display_name": "Ben",
        "bio": "I run the projector.",
        "skills": "Python, audio",
        "locale": "en",
        "timezone": "Asia/Tokyo",
        "email_reminders": "y",
    }
    assert auth.login("ben@example.com").status_code == 302
    assert client.post("/profile", data=profile).status_code == 302
    new_password = {
        "current_password": PASSWORD,
        "new_password": "another horse battery",
        "confirm": "another horse battery",
    }
    assert client.post("/password", data=new_password).status_code == 302
    assert auth.logout().status_code == 302
    db.session.expire_all()
    assert ben.bio == "I run the projector." and ben.updated_at > updated  # all were saved
    assert stamps(aoi) == before
