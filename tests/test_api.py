"""The JSON API v1: reads, errors, paging, ETag, language (studygroup.api)."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from studygroup.apitokens.models import Scope
from studygroup.apitokens.services import create_token
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Visibility
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.signups.services import sign_up
from tests.factories import slots_of


@pytest.fixture
def world(make):
    """A public group with two sessions (one with a gap), a members-only group."""
    organizer = make.user("org@example.com", display_name="Org")
    public = make.group(organizer, slug="public-py", name="A public group")
    member = make.member(public, make.user("mem@example.com", display_name="Mem"))
    first = make.session(public, day=date.today() + timedelta(days=10), title="First")
    second = make.session(public, day=date.today() + timedelta(days=40), title="Second")
    private = make.group(
        organizer, slug="secret-py", name="B secret", visibility=Visibility.MEMBERS
    )
    make.session(private, title="Hidden")
    return {
        "organizer": organizer,
        "member": member,
        "public": public,
        "private": private,
        "first": first,
        "second": second,
    }


def test_groups_anonymous_sees_public_only(client, world):
    response = client.get("/api/v1/groups")
    assert response.status_code == 200
    body = response.get_json()
    assert [g["slug"] for g in body["items"]] == ["public-py"]
    assert body["items"][0]["my_role"] is None
    assert body["next_cursor"] is None and body["next"] is None


def test_private_group_is_404_in_error_shape(client, world):
    response = client.get("/api/v1/groups/secret-py/sessions")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found" and error["fields"] == {}


def test_unknown_url_and_method_in_error_shape(client, world):
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/groups")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_sessions_with_roles_counts_no_names_for_public(client, world):
    response = client.get("/api/v1/groups/public-py/sessions")
    body = response.get_json()
    assert [s["title"] for s in body["items"]] == ["First", "Second"]
    session = body["items"][0]
    assert session["timezone"] == "Asia/Tokyo"
    assert session["starts_at"].endswith("Z") or session["starts_at"].endswith("+00:00")
    role = session["roles"][0]
    assert role["needed"] >= 1 and role["filled"] == 0 and role["gap"] == role["needed"]
    assert role["people"] is None and role["waitlisted"] is None


def test_cursor_paging_walks_every_session_once(client, world, make):
    for n in range(5):
        make.session(world["public"], day=date.today() + timedelta(days=50 + n), title=f"S{n}")
    seen, url = [], "/api/v1/groups/public-py/sessions?limit=2"
    while url:
        body = client.get(url).get_json()
        assert len(body["items"]) <= 2
        seen += [s["id"] for s in body["items"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("cursor", ["x", "WyJhIl0", "bnVsbA", "W10", "WzEsMl0"])
def test_bad_cursor_is_400_naming_the_field(client, world, cursor):
    response = client.get(f"/api/v1/groups/public-py/sessions?cursor={cursor}")
    assert response.status_code == 400
    assert "cursor" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=abc", "bogus=1"])
def test_bad_query_is_422_with_fields(client, world, query):
    response = client.get(f"/api/v1/groups?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid" and error["fields"]


def test_messages_follow_accept_language(client, world):
    ja = client.get("/api/v1/groups/nope", headers={"Accept-Language": "ja"})
    en = client.get("/api/v1/groups/nope", headers={"Accept-Language": "en"})
    assert ja.get_json()["error"]["message"] != en.get_json()["error"]["message"]


def test_etag_and_304(client, world):
    first = client.get("/api/v1/groups/public-py/sessions")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/groups/public-py/sessions", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and not again.data
    slot = db.session.scalars(
        sa.select(RoleSlot).where(RoleSlot.session_id == world["first"].id)
    ).first()
    sign_up(db.session, member=world["member"], slot=slot, now=utcnow())
    db.session.commit()
    changed = client.get("/api/v1/groups/public-py/sessions", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_cookie_is_not_read(client, auth, world):
    """A logged-in browser is anonymous to the API: the private group stays hidden."""
    auth.login("org@example.com")
    assert client.get("/api/v1/groups/secret-py").status_code == 404
    assert "Set-Cookie" not in client.get("/api/v1/groups").headers


def test_list_costs_the_same_for_5_and_50_sessions(client, world, make, count_queries):
    def statements(limit):
        with count_queries() as counted:
            assert client.get(f"/api/v1/groups/public-py/sessions?limit={limit}").status_code == 200
        return counted.count

    for n in range(50):
        make.session(world["public"], day=date.today() + timedelta(days=60 + n), title=f"S{n}")
    assert statements(5) == statements(50) <= 6


def test_openapi_document_and_docs_page(client, world):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/groups/{slug}/sessions" in document["paths"]
    page = client.get("/api/v1/docs?lang=ja")
    assert page.status_code == 200 and "<script" not in page.get_data(as_text=True)
    assert "listSessions" in page.get_data(as_text=True)


# --- with tokens --------------------------------------------------------------------------


def bearer(user, *scopes: str) -> dict[str, str]:
    _token, raw = create_token(
        db.session,
        user,
        name="test",
        scopes={Scope(s) for s in scopes},
        expires_at=None,
        now=utcnow(),
    )
    db.session.commit()
    return {"Authorization": f"Bearer {raw}"}


def test_member_sees_private_group_and_names(client, world):
    headers = bearer(world["member"], "read")
    body = client.get("/api/v1/groups", headers=headers).get_json()
    assert [g["my_role"] for g in body["items"]] == ["member"]  # not in the private group
    headers = bearer(world["organizer"], "read")
    body = client.get("/api/v1/groups", headers=headers).get_json()
    assert [(g["slug"], g["my_role"]) for g in body["items"]] == [
        ("public-py", "organizer"),
        ("secret-py", "organizer"),
    ]
    sign_up(
        db.session, member=world["member"], slot=slots_of(world["first"])["setup"], now=utcnow()
    )
    db.session.commit()
    session = client.get(
        f"/api/v1/groups/public-py/sessions/{world['first'].id}", headers=headers
    ).get_json()
    place_id = session["roles"][0]["people"][0]["place_id"]
    assert session["roles"][0]["people"] == [
        {"name": "Mem", "user_id": world["member"].id, "place_id": place_id}
    ]
    assert session["roles"][0]["waitlisted"] == 0
    as_member = client.get(
        f"/api/v1/groups/public-py/sessions/{world['first'].id}",
        headers=bearer(world["member"], "read"),
    ).get_json()
    assert as_member["roles"][0]["people"] == [{"name": "Mem", "user_id": None, "place_id": None}]


@pytest.mark.parametrize(
    "header, code",
    [
        ("Bearer sg_" + "x" * 43, "invalid_token"),
        ("Basic abc", "malformed_token"),
        ("Bearer", "malformed_token"),
    ],
)
def test_bad_token_is_401(client, world, header, code):
    response = client.get("/api/v1/groups", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == code
    assert "WWW-Authenticate" in response.headers


def test_scopes(client, world):
    write_only = bearer(world["member"], "write")
    assert client.get("/api/v1/me/schedule", headers=write_only).status_code == 403
    read_only = bearer(world["member"], "read")
    slot = slots_of(world["first"])["setup"]
    response = client.post(
        f"/api/v1/groups/public-py/slots/{slot.id}/signup", json={}, headers=read_only
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["fields"] == {"scope": "write"}
    assert client.get("/api/v1/me/schedule").status_code == 401


def test_sign_up_waitlist_schedule_and_cancel(client, world, make):
    headers = bearer(world["member"], "read", "write")
    slot = slots_of(world["first"])["setup"]
    url = f"/api/v1/groups/public-py/slots/{slot.id}/signup"
    for _ in range(slot.headcount):  # fill the role with others
        sign_up(db.session, member=make.member(world["public"]), slot=slot, now=utcnow())
    db.session.commit()
    response = client.post(url, json={}, headers=headers)
    assert response.status_code == 201, response.get_json()
    place = response.get_json()
    assert place["status"] == "waitlisted" and place["waitlist_number"] == 1
    again = client.post(url, json={}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "refused"

    schedule = client.get("/api/v1/me/schedule", headers=headers).get_json()
    assert [(p["place_id"], p["status"]) for p in schedule["places"]] == [
        (place["place_id"], "waitlisted")
    ]
    assert schedule["places"][0]["session"]["timezone"] == "Asia/Tokyo"

    cancel = f"/api/v1/groups/public-py/places/{place['place_id']}/cancel"
    response = client.post(cancel, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert client.get("/api/v1/me/schedule", headers=headers).get_json()["places"] == []


def test_writes_refuse_outsiders_and_others_places(client, world, make):
    outsider = bearer(make.user(), "read", "write")
    slot = slots_of(world["first"])["setup"]
    response = client.post(
        f"/api/v1/groups/public-py/slots/{slot.id}/signup", json={}, headers=outsider
    )
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_a_member"
    hidden = client.post("/api/v1/groups/secret-py/slots/1/signup", json={}, headers=outsider)
    assert hidden.status_code == 404
    place = sign_up(db.session, member=world["organizer"], slot=slot, now=utcnow())
    db.session.commit()
    member = bearer(world["member"], "write")
    response = client.post(f"/api/v1/groups/public-py/places/{place.id}/cancel", headers=member)
    assert response.status_code == 403


@pytest.mark.parametrize(
    "kwargs, status, field",
    [
        ({"data": "{not json", "content_type": "application/json"}, 400, "body"),
        ({"data": "[]", "content_type": "application/json"}, 400, "body"),
        ({"data": "talk_title=x", "content_type": "application/x-www-form-urlencoded"}, 415, None),
        ({"json": {"talk_title": 3}}, 422, "talk_title"),
        ({"json": {"surprise": True}}, 422, "surprise"),
        ({"json": {"talk_title": "x" * 201}}, 422, "talk_title"),
    ],
)
def test_bad_bodies(client, world, kwargs, status, field):
    headers = bearer(world["member"], "write")
    slot = slots_of(world["first"])["setup"]
    response = client.post(
        f"/api/v1/groups/public-py/slots/{slot.id}/signup", headers=headers, **kwargs
    )
    assert response.status_code == status
    error = response.get_json()["error"]
    if field:
        assert field in error["fields"]


def test_session_cookie_never_authorizes_a_write(client, auth, world):
    auth.login_as(world["member"])
    slot = slots_of(world["first"])["setup"]
    response = client.post(f"/api/v1/groups/public-py/slots/{slot.id}/signup", json={})
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0


def test_rate_limit_headers_and_429(app, client, world):
    app.config["API_RATE_LIMIT"] = 2
    headers = bearer(world["member"], "read")
    first = client.get("/api/v1/groups", headers=headers)
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    client.get("/api/v1/groups", headers=headers)
    refused = client.get("/api/v1/groups", headers=headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert "Retry-After" in refused.headers


def test_feeds(client, world):
    headers = bearer(world["member"], "read")
    feeds = client.get("/api/v1/me/feeds", headers=headers).get_json()
    assert feeds["schedule"]["webcal"].startswith("webcal://")
    assert [f["group"] for f in feeds["groups"]] == ["public-py"]


def test_language_from_profile_when_no_accept_language(client, world, make):
    english = make.user(locale="en")
    japanese = make.user(locale="ja")
    en = client.get("/api/v1/groups/nope", headers=bearer(english, "read"))
    ja = client.get("/api/v1/groups/nope", headers=bearer(japanese, "read"))
    assert en.get_json()["error"]["message"] != ja.get_json()["error"]["message"]


# --- organizers -----------------------------------------------------------------------------


def test_organizer_posts_and_cancels_a_session(client, world):
    headers = bearer(world["organizer"], "read", "organize")
    body = {
        "title": "API meetup",
        "starts_at": "2031-05-17T10:00:00+09:00",
        "ends_at": "2031-05-17T12:00:00+09:00",
    }
    response = client.post("/api/v1/groups/public-py/sessions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    session = response.get_json()
    assert session["starts_at"] in ("2031-05-17T01:00:00Z", "2031-05-17T01:00:00+00:00")
    assert session["venue"] == "Community hall" and session["roles"]
    again = client.post("/api/v1/groups/public-py/sessions", json=body, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "same_start"

    cancel = f"/api/v1/groups/public-py/sessions/{session['id']}/cancel"
    response = client.post(cancel, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert client.post(cancel, headers=headers).status_code == 409


@pytest.mark.parametrize(
    "change, field",
    [
        ({"ends_at": "2031-05-17T09:00:00+09:00"}, "ends_at"),
        ({"starts_at": "2031-05-17T10:00:00"}, "starts_at"),  # no offset
        ({"starts_at": "9999-05-17T10:00:00+09:00"}, "starts_at"),
        ({"title": ""}, "title"),
    ],
)
def test_post_session_bad_fields(client, world, change, field):
    headers = bearer(world["organizer"], "organize")
    body = {
        "title": "API meetup",
        "starts_at": "2031-05-17T10:00:00+09:00",
        "ends_at": "2031-05-17T12:00:00+09:00",
    } | change
    response = client.post("/api/v1/groups/public-py/sessions", json=body, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_members_and_organize_less_tokens_cannot_organize(client, world):
    body = {"title": "x", "starts_at": "2031-05-17T10:00:00Z", "ends_at": "2031-05-17T11:00:00Z"}
    member = bearer(world["member"], "read", "write", "organize")
    response = client.post("/api/v1/groups/public-py/sessions", json=body, headers=member)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "not_an_organizer"
    organizer = bearer(world["organizer"], "read", "write")
    response = client.post("/api/v1/groups/public-py/sessions", json=body, headers=organizer)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "insufficient_scope"


def test_organizer_assigns_asking_first_when_full(client, world, make):
    headers = bearer(world["organizer"], "read", "organize")
    slot = slots_of(world["first"])["setup"]
    url = f"/api/v1/groups/public-py/slots/{slot.id}/assign"
    for _ in range(slot.headcount):
        sign_up(db.session, member=make.member(world["public"]), slot=slot, now=utcnow())
    db.session.commit()
    body = {"user_id": world["member"].id}
    asked = client.post(url, json=body, headers=headers)
    assert asked.status_code == 409, asked.get_json()
    error = asked.get_json()["error"]
    assert error["code"] == "ask_first" and error["fields"]["confirm"]
    done = client.post(url, json=body | {"confirm": error["fields"]["confirm"]}, headers=headers)
    assert done.status_code == 201 and done.get_json()["status"] == "confirmed"
    # Organizers see who holds each place, with the ids to act on them.
    session = client.get(
        f"/api/v1/groups/public-py/sessions/{world['first'].id}", headers=headers
    ).get_json()
    people = session["roles"][0]["people"]
    assert world["member"].id in [p["user_id"] for p in people]
    assert all(p["place_id"] for p in people)
    outsider = client.post(url, json={"user_id": make.user().id}, headers=headers)
    assert outsider.status_code == 409


def test_attendance_only_once_started(client, world, make):
    headers = bearer(world["organizer"], "organize")
    slot = slots_of(world["first"])["setup"]
    place = sign_up(db.session, member=world["member"], slot=slot, now=utcnow())
    db.session.commit()
    url = f"/api/v1/groups/public-py/places/{place.id}/attendance"
    early = client.post(url, json={"attendance": "worked"}, headers=headers)
    assert early.status_code == 409
    bad = client.post(url, json={"attendance": "maybe"}, headers=headers)
    assert bad.status_code == 422 and "attendance" in bad.get_json()["error"]["fields"]
    past = make.session(world["public"], day=date.today() - timedelta(days=3), title="Past")
    past_slot = slots_of(past)["setup"]
    db.session.add(
        Assignment(
            slot_id=past_slot.id,
            user_id=world["member"].id,
            status=AssignmentStatus.CONFIRMED,
            confirmed_at=utcnow(),
        )
    )
    db.session.commit()
    held = db.session.scalars(sa.select(Assignment).where(Assignment.slot_id == past_slot.id)).one()
    url = f"/api/v1/groups/public-py/places/{held.id}/attendance"
    response = client.post(url, json={"attendance": "no_show"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["attendance"] == "no_show"


def test_my_coworkers_pages_with_privacy(client, world, make):
    past = make.session(world["public"], day=date.today() - timedelta(days=3), title="Past")
    slot = slots_of(past)["setup"]
    others = [make.member(world["public"]) for _ in range(2)]
    others[1].appear_by_name = False
    for user in [world["member"], *others]:
        db.session.add(
            Assignment(
                slot_id=slot.id,
                user_id=user.id,
                status=AssignmentStatus.CONFIRMED,
                confirmed_at=utcnow(),
            )
        )
    db.session.commit()
    headers = bearer(world["member"], "read")
    first = client.get("/api/v1/me/coworkers?limit=1", headers=headers).get_json()
    assert len(first["items"]) == 1 and first["next"]
    second = client.get(first["next"], headers=headers).get_json()
    names = {first["items"][0]["name"], second["items"][0]["name"]}
    assert names == {others[0].display_name, None}
    assert second["next"] is None
    assert first["items"][0]["sessions"] == 1


def test_statements_per_read(client, world, make, count_queries):
    """Each read costs a fixed number of statements, whatever the list's length: the token
    (1), the rate-limit count (1), the member (1), then the read's own."""
    headers = bearer(world["member"], "read")
    urls = {
        "/api/v1/groups": 4,
        "/api/v1/groups/public-py": 5,
        "/api/v1/groups/public-py/sessions": 8,
        f"/api/v1/groups/public-py/sessions/{world['first'].id}": 8,
        "/api/v1/me/schedule": 4,
        "/api/v1/me/feeds": 4,
    }

    def statements() -> dict[str, int]:
        counts = {}
        for url in urls:
            client.get(url, headers=headers)  # the token's last-used stamp, once a minute
            with count_queries() as counted:
                assert client.get(url, headers=headers).status_code == 200, url
            counts[url] = counted.count
        return counts

    few = statements()
    for n in range(20):
        group = make.group(name=f"More {n:02}")
        make.member(group, world["member"])
        session = make.session(world["public"], day=date.today() + timedelta(days=11 + n))
        sign_up(db.session, member=world["member"], slot=slots_of(session)["setup"], now=utcnow())
    db.session.commit()
    many = statements()
    assert few == many, (few, many)
    for url, most in urls.items():
        assert many[url] <= most, (url, many[url])


def test_i_can_help(client, world, make):
    headers = bearer(world["member"], "write")
    url = f"/api/v1/groups/public-py/sessions/{world['first'].id}/can-help"
    response = client.post(url, json={"note": "until 11:00"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["can_help"] is True
    assert client.post(url, json={"note": "x" * 201}, headers=headers).status_code == 422
    past = make.session(world["public"], day=date.today() - timedelta(days=3), title="Past")
    late = client.post(
        f"/api/v1/groups/public-py/sessions/{past.id}/can-help", json={}, headers=headers
    )
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "refused"


def test_organizer_moves_a_session(client, world):
    headers = bearer(world["organizer"], "read", "organize")
    url = f"/api/v1/groups/public-py/sessions/{world['first'].id}"
    before = client.get(url, headers=headers).get_json()
    later = datetime.fromisoformat(before["starts_at"]) + timedelta(days=1)
    response = client.patch(
        url,
        json={
            "starts_at": later.isoformat(),
            "ends_at": (later + timedelta(hours=2)).isoformat(),
            "venue": "Room B",
        },
        headers=headers,
    )
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert datetime.fromisoformat(moved["starts_at"]) == later and moved["venue"] == "Room B"
    assert moved["title"] == before["title"]
    shift = datetime.fromisoformat(moved["roles"][0]["starts_at"]) - datetime.fromisoformat(
        before["roles"][0]["starts_at"]
    )
    assert shift == timedelta(days=1)
    bad = client.patch(url, json={"ends_at": later.isoformat()}, headers=headers)
    assert bad.status_code == 422 and "ends_at" in bad.get_json()["error"]["fields"]
    member = bearer(world["member"], "organize")
    assert client.patch(url, json={"title": "x"}, headers=member).status_code == 403


def test_organizer_posts_a_series(client, world, count_queries):
    headers = bearer(world["organizer"], "read", "organize")
    url = "/api/v1/groups/public-py/series"
    body = {
        "title": "Monthly reading",
        "ordinals": [1, -1],
        "weekday": "WE",
        "first_day": "2031-01-01",
        "months": 3,
        "start_time": "19:00",
        "end_time": "21:00",
    }
    with count_queries() as counted:
        response = client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    series = response.get_json()
    starts = [s["starts_at"][:16] for s in series["sessions"]]
    # First and last Wednesdays of Jan–Mar 2031, 19:00 in Tokyo = 10:00 UTC.
    assert starts == [
        "2031-01-01T10:00",
        "2031-01-29T10:00",
        "2031-02-05T10:00",
        "2031-02-26T10:00",
        "2031-03-05T10:00",
        "2031-03-26T10:00",
    ]
    assert series["id"] and series["skipped"] == 0
    assert all(s["roles"] and s["venue"] == "Community hall" for s in series["sessions"])
    # 42 measured for 6 sessions: the writes grow with the dates, the answer's reads do not.
    assert counted.count <= 45, counted.count
    again = client.post(url, json=body | {"months": 4}, headers=headers)
    assert again.status_code == 201 and again.get_json()["skipped"] == 6
    assert len(again.get_json()["sessions"]) == 2
    nothing = client.post(url, json=body, headers=headers)
    assert nothing.status_code == 409
    assert nothing.get_json()["error"]["code"] == "nothing_to_post"
    weekly = client.post(
        url,
        json=body | {"pattern": "weekly", "interval": 2, "first_day": "2032-01-05", "months": 1},
        headers=headers,
    )
    assert [s["starts_at"][:10] for s in weekly.get_json()["sessions"]] == [
        "2032-01-07",
        "2032-01-21",
        "2032-02-04",  # a month from 5 January is up to 4 February
    ]
    custom = client.post(
        url,
        json=body | {"pattern": "custom", "rule": "FREQ=MONTHLY;BYDAY=+2FR", "months": 1},
        headers=headers,
    )
    assert [s["starts_at"][:10] for s in custom.get_json()["sessions"]] == ["2031-01-10"]
    member = bearer(world["member"], "organize")
    refused = client.post(url, json=body, headers=member)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "not_an_organizer"
    assert client.post("/api/v1/groups/nope/series", json=body, headers=member).status_code == 404


@pytest.mark.parametrize(
    "change, field",
    [
        ({"end_time": "18:00"}, "end_time"),
        ({"start_time": "19:00+09:00"}, "start_time"),
        ({"start_time": "25:00"}, "start_time"),
        ({"first_day": "9999-01-01"}, "first_day"),
        ({"first_day": "soon"}, "first_day"),
        ({"months": 25}, "months"),
        ({"ordinals": [5]}, "ordinals.0"),
        ({"ordinals": []}, "ordinals"),
        ({"weekday": "XX"}, "weekday"),
        ({"pattern": "custom"}, "rule"),
        ({"pattern": "custom", "rule": "FREQ=DAILY"}, "rule"),
        ({"pattern": "custom", "rule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rule"),
        ({"pattern": "weekly", "months": 24}, "months"),  # more than 60 sessions
    ],
)
def test_post_series_bad_fields(client, world, change, field):
    headers = bearer(world["organizer"], "organize")
    body = {
        "title": "Series",
        "first_day": "2031-01-01",
        "months": 2,
        "start_time": "19:00",
        "end_time": "21:00",
    } | change
    response = client.post("/api/v1/groups/public-py/series", json=body, headers=headers)
    assert response.status_code == 422, response.get_json()
    fields = response.get_json()["error"]["fields"]
    assert field in fields, fields
    assert "not valid" not in fields[field]


def test_organizer_moves_a_member_between_roles(client, world, make):
    headers = bearer(world["organizer"], "organize")
    slots = slots_of(world["first"])
    setup, reception = slots["setup"], slots["reception"]
    place = sign_up(db.session, member=world["member"], slot=setup, now=utcnow())
    others = [make.member(world["public"]) for _ in range(setup.headcount)]
    for other in others:  # the last one waits for setup
        sign_up(db.session, member=other, slot=setup, now=utcnow())
    db.session.commit()

    def move_url(session, place_id: int) -> str:
        return f"/api/v1/groups/public-py/sessions/{session.id}/places/{place_id}/move"

    url = move_url(world["first"], place.id)
    response = client.post(url, json={"to_slot_id": reception.id}, headers=headers)
    assert response.status_code == 200, response.get_json()
    moved = response.get_json()
    assert moved["slot_id"] == reception.id and moved["status"] == "confirmed"
    assert moved["place_id"] != place.id and "moved up" in moved["message"]
    waiting = db.session.scalars(
        sa.select(Assignment).where(Assignment.user_id == others[-1].id)
    ).one()
    assert waiting.status == AssignmentStatus.CONFIRMED  # took the place left behind
    # The old place is cancelled now; moving it again is refused with the rule's sentence.
    again = client.post(url, json={"to_slot_id": setup.id}, headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "refused"
    # A role of another session, a place of another session, another member's token.
    other_slot = slots_of(world["second"])["setup"]
    new_url = move_url(world["first"], moved["place_id"])
    away = client.post(new_url, json={"to_slot_id": other_slot.id}, headers=headers)
    assert away.status_code == 409
    wrong = move_url(world["second"], moved["place_id"])
    assert client.post(wrong, json={"to_slot_id": setup.id}, headers=headers).status_code == 404
    member = bearer(world["member"], "organize")
    assert client.post(new_url, json={"to_slot_id": setup.id}, headers=member).status_code == 403
    # Into a full role: asked first, then moved with the confirm.
    full = client.post(new_url, json={"to_slot_id": setup.id}, headers=headers)
    assert full.status_code == 409, full.get_json()
    error = full.get_json()["error"]
    assert error["code"] == "ask_first" and error["fields"]["confirm"]
    done = client.post(
        new_url,
        json={"to_slot_id": setup.id, "confirm": error["fields"]["confirm"]},
        headers=headers,
    )
    assert done.status_code == 200 and done.get_json()["slot_id"] == setup.id


def test_organizer_approves_and_declines_requests(client, world, make):
    headers = bearer(world["organizer"], "organize")
    speaker = slots_of(world["first"])["speaker"]
    talks = [
        sign_up(db.session, member=m, slot=speaker, now=utcnow(), talk_title=f"Talk {n}")
        for n, m in enumerate([world["member"], make.member(world["public"])])
    ]
    db.session.commit()
    assert all(t.status == AssignmentStatus.REQUESTED for t in talks)
    approve = f"/api/v1/groups/public-py/places/{talks[0].id}/approve"
    member = bearer(world["member"], "organize")
    assert client.post(approve, json={}, headers=member).status_code == 403
    response = client.post(approve, json={}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "confirmed"
    assert "Talk 0" in response.get_json()["message"]
    assert client.post(approve, json={}, headers=headers).status_code == 409  # answered
    decline = f"/api/v1/groups/public-py/places/{talks[1].id}/decline"
    response = client.post(decline, json={}, headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "declined"
    hidden = sign_up(
        db.session,
        member=world["organizer"],
        slot=slots_of(make.session(world["private"]))["speaker"],
        now=utcnow(),
        talk_title="Elsewhere",
    )
    db.session.commit()
    elsewhere = f"/api/v1/groups/public-py/places/{hidden.id}/approve"
    assert client.post(elsewhere, json={}, headers=headers).status_code == 404
