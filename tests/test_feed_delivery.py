"""How subscription feeds are sent: gzip when the client takes it, conditional answers for
each encoding, no session and no login on a poll, and changes seen after the version memo."""

import gzip
import io
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from studygroup.calendar import FEED_PATHS, tokens
from studygroup.calendar.delivery import accepts_gzip
from studygroup.extensions import db
from studygroup.sessions.services import cancel_session

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


@pytest.fixture
def feed_group(make):
    organizer = make.user(display_name="Org")
    group = make.group(organizer, slug="shibuya")
    member = make.member(group, make.user(display_name="Aoi"))
    session = make.session(group, title="Monthly meetup")
    db.session.commit()
    return group, member, session


def _urls(member):
    return ("/g/shibuya/calendar.ics", f"/calendar/member/{tokens.token_of(member)}.ics")


def test_gzip_when_accepted_the_same_feed_after_decompression(feed_group, client):
    _group, member, _session = feed_group
    for url in _urls(member):
        plain = client.get(url)
        squeezed = client.get(url, headers=GZIP)
        assert plain.status_code == squeezed.status_code == 200
        assert "Content-Encoding" not in plain.headers
        assert squeezed.headers["Content-Encoding"] == "gzip"
        assert squeezed.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert gzip.decompress(squeezed.data) == plain.data
        assert len(squeezed.data) < len(plain.data)
        assert squeezed.headers["Content-Length"] == str(len(squeezed.data))
        for response in (plain, squeezed):
            assert response.headers["Vary"] == "Accept-Encoding"
        # Two representations, two strong ETags (RFC 9110 8.8.3).
        assert squeezed.headers["ETag"] != plain.headers["ETag"]
        assert not squeezed.headers["ETag"].startswith("W/")
        # The same bytes again (from the cache, and built again as another process would).
        assert client.get(url, headers=GZIP).data == squeezed.data
        client.application.extensions["calendar_feeds"].clear()
        again = client.get(url, headers=GZIP)
        assert again.data == squeezed.data
        assert again.headers["ETag"] == squeezed.headers["ETag"]


@pytest.mark.parametrize(
    "accept_encoding", [None, "", "identity", "br", "deflate, br", "gzip;q=0", "*, gzip;q=0"]
)
def test_not_gzipped_unless_accepted(feed_group, client, accept_encoding):
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    response = client.get("/g/shibuya/calendar.ics", headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data.startswith(b"BEGIN:VCALENDAR")
    assert response.headers["Vary"] == "Accept-Encoding"


def test_accepts_gzip():
    for header in ("gzip", "GZIP", "gzip, deflate", "br;q=1.0, gzip;q=0.8", "*", "x;q=0.1, *"):
        assert accepts_gzip(header), header
    for header in ("", "identity", "br", "gzip;q=0", "gzip; q=0.0", "*;q=0", "*, gzip;q=0"):
        assert not accepts_gzip(header), header
    assert not accepts_gzip("gzip;q=oops")


def test_304_for_each_encoding_with_its_own_etag(feed_group, client):
    _group, member, _session = feed_group
    for url in _urls(member):
        plain_tag = client.get(url).headers["ETag"]
        gzip_tag = client.get(url, headers=GZIP).headers["ETag"]

        again = client.get(url, headers={**GZIP, "If-None-Match": gzip_tag})
        assert again.status_code == 304 and again.data == b""
        assert again.headers["ETag"] == gzip_tag
        assert again.headers["Vary"] == "Accept-Encoding"
        assert "Content-Encoding" not in again.headers and "Content-Length" not in again.headers
        assert client.get(url, headers={"If-None-Match": plain_tag}).status_code == 304
        # Either tag in a list, or a weak form of it, still matches (weak comparison).
        both = f'"other", {plain_tag}, {gzip_tag}'
        assert client.get(url, headers={**GZIP, "If-None-Match": both}).status_code == 304
        assert client.get(url, headers={"If-None-Match": f"W/{plain_tag}"}).status_code == 304
        # A tag of the other encoding is another representation: the full feed.
        other = client.get(url, headers={"If-None-Match": gzip_tag})
        assert other.status_code == 200 and other.headers["ETag"] == plain_tag
        other = client.get(url, headers={**GZIP, "If-None-Match": plain_tag})
        assert other.status_code == 200 and other.headers["Content-Encoding"] == "gzip"

        head = client.head(url, headers=GZIP)
        assert head.status_code == 200 and head.data == b""
        assert head.headers["ETag"] == gzip_tag


def test_a_feed_neither_reads_nor_sets_a_session_nor_loads_a_user(
    feed_group, app, client, auth, count_queries
):
    _group, member, _session = feed_group
    url = "/g/shibuya/calendar.ics"
    client.get(url)  # built: the counts below are of polls
    with count_queries() as anonymous:
        client.get(url)
    auth.login_as(member)
    assert client.get("/").status_code == 200  # logged in: the session cookie is sent
    for url in _urls(member):
        with count_queries() as logged_in:
            response = client.get(url, headers=GZIP)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers
        assert "Cookie" not in response.headers["Vary"]
    with count_queries() as logged_in:
        client.get("/g/shibuya/calendar.ics")
    assert logged_in.count == anonymous.count  # no user loaded
    # A wrong feed URL is an error page as for a visitor, and sets no cookie either.
    missing = client.get("/g/nobody/calendar.ics")
    assert missing.status_code == 404
    assert "Set-Cookie" not in missing.headers
    # Other pages still have the session.
    assert client.get("/").headers.get("Vary", "").find("Cookie") >= 0


def test_feed_paths_are_exactly_the_subscription_feeds(app):
    feeds = {"calendar.public_group_feed", "calendar.group_feed", "calendar.member_feed"}
    seen = set()
    for rule in app.url_map.iter_rules():
        sample = rule.rule
        for argument in rule.arguments:
            sample = sample.replace(f"<int:{argument}>", "7").replace(f"<{argument}>", "abc")
        assert bool(FEED_PATHS.fullmatch(sample)) == (rule.endpoint in feeds), rule.rule
        seen.add(rule.endpoint)
    assert feeds <= seen


def test_a_change_is_seen_after_the_version_memo(feed_group, app_factory):
    _group, member, session = feed_group
    ttl = 0.3
    app = app_factory(CALENDAR_VERSION_TTL=ttl)
    client = app.test_client()
    url = "/g/shibuya/calendar.ics"
    before = client.get(url, headers=GZIP)
    tag = before.headers["ETag"]
    assert b"STATUS:CANCELLED" not in gzip.decompress(before.data)

    cancel_session(session, now=datetime.now(UTC) + timedelta(seconds=1))
    db.session.commit()
    time.sleep(ttl + 0.05)
    changed = client.get(url, headers={**GZIP, "If-None-Match": tag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != tag
    assert b"STATUS:CANCELLED" in gzip.decompress(changed.data)
    assert b"STATUS:CANCELLED" in client.get(url).data


def test_a_feed_request_is_logged_with_its_fields(feed_group, app, client):
    _group, member, _session = feed_group
    stream = io.StringIO()
    app.logger.handlers[0].setStream(stream)
    app.logger.setLevel(logging.INFO)
    client.get(_urls(member)[1], headers=GZIP)
    (line,) = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["message"] == "request" and line["level"] == "INFO"
    assert line["path"] == "/calendar/member/[redacted].ics"
    assert line["status"] == 200 and line["method"] == "GET" and line["user_id"] is None
    assert line["time"] and line["ms"] >= 0


def test_a_wrong_feed_url_with_a_remember_cookie_is_a_plain_404(client, auth, make):
    """The error page may log the member in from the remember cookie, into a session that is
    never saved: still a 404, and no cookie set."""
    make.user(email="keep@example.com")
    db.session.commit()
    assert auth.login(email="keep@example.com", remember="y").status_code == 302
    assert client.get_cookie("remember_token") is not None
    client.delete_cookie("session")
    missing = client.get("/g/nobody/calendar.ics")
    assert missing.status_code == 404
    assert "Set-Cookie" not in missing.headers
