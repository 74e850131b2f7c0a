"""The JSON API v1: reads, errors, paging, ETag, language (studygroup.api)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.groups.models import Visibility
from studygroup.sessions.models import RoleSlot
from studygroup.signups.services import sign_up


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
