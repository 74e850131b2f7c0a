"""Outgoing webhooks, delivered to a real HTTP server on 127.0.0.1 (the guard's refusal of
private addresses is switched off for that by WEBHOOK_ALLOW_PRIVATE_ADDRESSES)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.sessions.services import cancel_session, update_session
from studygroup.signups.models import Assignment
from studygroup.signups.services import sign_up
from studygroup.webhooks.delivery import deliver_due, pause_failing
from studygroup.webhooks.guard import UnsafeURL, is_public_address, vet_url
from studygroup.webhooks.models import (
    DeliveryStatus,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
    WebhookFormat,
)
from studygroup.webhooks.services import create_webhook, queue_gap_events


class Receiver:
    """A real HTTP server that records each request and answers the scripted status codes
    (then 200), waiting `delay` seconds first when asked to."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(app):
    app.config.update(WEBHOOK_ALLOW_PRIVATE_ADDRESSES=True, WEBHOOK_TIMEOUT_SECONDS=1)
    server = Receiver()
    yield server
    server.stop()


def _webhook(group, organizer, url, *, fmt=WebhookFormat.JSON, language="en", events=None):
    webhook = create_webhook(
        db.session,
        group=group,
        creator=organizer,
        url=url,
        events=events
        or ["session.posted", "session.moved", "session.cancelled", "role.gaps", "place.freed"],
        format=fmt,
        language=language,
        gap_days_before=7,
        now=datetime.now(UTC),
    )
    db.session.commit()
    return webhook


def _now():
    return datetime.now(UTC)


def _deliveries(webhook):
    return db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook.id)
        .order_by(WebhookDelivery.id)
    ).all()


# --- the guard ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a00:1]/",
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "https://user:pass@example.com/",
        "http:///nohost",
        "http://example.com:99999/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
    ],
)
def test_the_guard_refuses_what_is_not_public_http(app, url):
    with pytest.raises(UnsafeURL):
        vet_url(url)


def test_the_guard_knows_public_addresses():
    assert is_public_address("8.8.8.8")
    assert is_public_address("2001:4860:4860::8888")
    for private in ("127.0.0.1", "::ffff:10.0.0.1", "2002:7f00:1::", "64:ff9b::7f00:1", "ff02::1"):
        assert not is_public_address(private), private


def test_the_test_setting_lets_loopback_through(app):
    assert vet_url("http://127.0.0.1:9/x?y=1", allow_private=True).target == "/x?y=1"
    assert vet_url("http://localhost:9/", allow_private=True).address in ("127.0.0.1", "::1")


# --- delivery -----------------------------------------------------------------------------


def test_a_posted_session_is_delivered_signed(app, make, receiver):
    organizer = make.user()
    group = make.group(organizer, name="渋谷Python勉強会")
    webhook = _webhook(group, organizer, receiver.url)
    session = make.session(group, day=date.today() + timedelta(days=20), title="第12回")

    report = deliver_due(db.session, now=_now())

    assert report.delivered == 1
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hook"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Studygroup-Event"] == "session.posted"
    [delivery] = _deliveries(webhook)
    assert headers["X-Studygroup-Delivery"] == str(delivery.id)
    timestamp = headers["X-Studygroup-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    expected = hmac.new(
        webhook.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-Studygroup-Signature"] == f"v1={expected}"
    data = json.loads(body)
    assert data["event"] == "session.posted" and data["id"] == f"posted:{session.id}"
    assert data["group"]["slug"] == group.slug and data["group"]["name"] == "渋谷Python勉強会"
    assert data["session"]["id"] == session.id and data["session"]["title"] == "第12回"
    assert (
        data["session"]["starts_at"].endswith("Z") and data["session"]["timezone"] == "Asia/Tokyo"
    )
    assert data["session"]["url"].endswith(f"/g/{group.slug}/sessions/{session.id}")
    assert data["session"]["venue"] == "Community hall"
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.last_status == 200
    [attempt] = db.session.scalars(sa.select(WebhookAttempt)).all()
    assert attempt.status_code == 200 and attempt.error == ""


def test_retried_with_backoff_and_never_twice_after_success(app, make, receiver, runner):
    organizer = make.user()
    group = make.group(organizer)
    webhook = _webhook(group, organizer, receiver.url)
    make.session(group)
    receiver.statuses = [500]
    t0 = _now()

    assert deliver_due(db.session, now=t0).failed == 1
    [delivery] = _deliveries(webhook)
    assert delivery.status == DeliveryStatus.QUEUED and delivery.last_status == 500
    assert timedelta(seconds=59) < delivery.next_attempt_at - t0 < timedelta(seconds=62)
    assert deliver_due(db.session, now=t0 + timedelta(seconds=30)).failed == 0  # not yet
    assert len(receiver.requests) == 1

    # A receiver that does not answer within the timeout is a failure too.
    receiver.delay = 1.5
    assert deliver_due(db.session, now=t0 + timedelta(seconds=65)).failed == 1
    db.session.expire_all()
    assert delivery.last_error == "timed out" and delivery.attempts == 2
    assert delivery.next_attempt_at > t0 + timedelta(minutes=5)  # the second wait is longer
    receiver.delay = 0

    assert deliver_due(db.session, now=t0 + timedelta(minutes=7)).delivered == 1
    assert len(receiver.requests) == 3
    assert len({r["headers"]["X-Studygroup-Delivery"] for r in receiver.requests}) == 1
    assert len({r["body"] for r in receiver.requests}) == 1  # the same bytes each time
    db.session.expire_all()
    assert webhook.failing_since is None

    # `flask send-webhooks`, twice: nothing goes a second time.
    for _ in range(2):
        result = runner.invoke(args=["send-webhooks"])
        assert result.exit_code == 0, result.output
        assert "delivered 0" in result.output
    assert deliver_due(db.session, now=t0 + timedelta(days=30)).delivered == 0
    assert len(receiver.requests) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookAttempt)) == 3


def test_failing_for_three_days_pauses_and_tells_the_organizers(
    app, make, receiver, smtp_server, client, auth
):
    organizer = make.user("org@example.com", locale="ja")
    group = make.group(organizer, name="渋谷Python勉強会")
    co = make.member(group, make.user("co@example.com", locale="en"), role="organizer")
    make.member(group, make.user("member@example.com"))
    webhook = _webhook(group, organizer, receiver.url)
    make.session(group)
    receiver.statuses = [503] * 20
    t0 = _now()

    deliver_due(db.session, now=t0)
    assert pause_failing(db.session, now=t0 + timedelta(days=2)) == []
    deliver_due(db.session, now=t0 + timedelta(days=1))  # retried, still failing
    paused = pause_failing(db.session, now=t0 + timedelta(days=3, minutes=1))
    db.session.commit()
    from studygroup.mail.delivery import deliver

    deliver(db.session, now=_now())

    assert [w.id for w in paused] == [webhook.id]
    db.session.expire_all()
    assert webhook.paused_at is not None and webhook.paused_for_failing
    [to_organizer] = smtp_server.to("org@example.com")
    assert "渋谷Python勉強会" in to_organizer["Subject"] and "Webhook" in to_organizer["Subject"]
    assert receiver.url in to_organizer.get_content()
    assert f"/g/{group.slug}/webhooks/{webhook.id}" in to_organizer.get_content()
    [to_co] = smtp_server.to(co.email)
    assert to_co["Subject"] == "Webhook paused: 渋谷Python勉強会"
    assert smtp_server.to("member@example.com") == []

    # Paused: nothing is tried, new events are not queued.
    tried = len(receiver.requests)
    deliver_due(db.session, now=t0 + timedelta(days=10))
    make.session(group, day=date.today() + timedelta(days=40))
    assert len(receiver.requests) == tried and len(_deliveries(webhook)) == 1

    auth.login_as(organizer)
    page = client.get(f"/g/{group.slug}/webhooks/{webhook.id}").get_data(as_text=True)
    assert "HTTP 503" in page
    # Resumed: what waited goes now.
    receiver.statuses = []
    client.post(f"/g/{group.slug}/webhooks/{webhook.id}/resume")
    db.session.expire_all()
    assert webhook.paused_at is None and webhook.failing_since is None
    assert deliver_due(db.session, now=_now()).delivered == 1


def test_slack_and_discord_get_their_shapes_in_the_webhooks_language(app, make, receiver):
    organizer = make.user()
    group = make.group(organizer, name="渋谷Python勉強会 <!channel>")
    _webhook(group, organizer, receiver.url + "/slack", fmt=WebhookFormat.SLACK, language="ja")
    _webhook(group, organizer, receiver.url + "/discord", fmt=WebhookFormat.DISCORD, language="en")
    session = make.session(
        group, day=date(2030, 12, 21), title="第12回 <Flask> & more"
    )  # a Saturday, 10:00 Tokyo

    deliver_due(db.session, now=_now())

    by_path = {r["path"]: r for r in receiver.requests}
    slack_body = json.loads(by_path["/hook/slack"]["body"])
    assert set(slack_body) == {"text"}
    assert "X-Studygroup-Signature" not in by_path["/hook/slack"]["headers"]
    url = f"/g/{group.slug}/sessions/{session.id}"
    assert f"{url}|第12回 &lt;Flask&gt; &amp; more>" in slack_body["text"]
    assert "2030年12月21日(土) 10:00" in slack_body["text"] and "新しい開催回" in slack_body["text"]
    assert "<!channel>" not in slack_body["text"] and "&lt;!channel&gt;" in slack_body["text"]
    discord_body = json.loads(by_path["/hook/discord"]["body"])
    assert discord_body["allowed_mentions"] == {"parse": []}
    assert "[第12回 <Flask> & more](<" in discord_body["content"]
    assert "Sat 21 Dec 2030, 10:00" in discord_body["content"]
    assert len(discord_body["content"]) <= 2000


def test_events_from_the_changes(app, make, receiver):
    organizer = make.user()
    group = make.group(organizer)
    _webhook(group, organizer, receiver.url)
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=5))
    now = _now()

    update_session(
        db.session,
        session,
        title=session.title,
        starts_at=session.starts_at + timedelta(hours=1),
        ends_at=session.ends_at + timedelta(hours=1),
        venue=session.venue,
        description="",
        now=now,
    )
    db.session.commit()
    update_session(  # no time change: no event
        db.session,
        session,
        title="Renamed",
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        venue=session.venue,
        description="",
        now=now,
    )
    db.session.commit()
    slots = db.session.scalars(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).order_by(RoleSlot.id)
    ).all()
    slot = slots[0]
    place = sign_up(db.session, member=member, slot=slot, now=now)
    db.session.commit()
    from studygroup.signups.services import cancel_place

    cancel_place(db.session, place=place, actor=organizer, now=now, by_organizer=True)
    db.session.commit()
    assert queue_gap_events(db.session, now=now) == len(slots)
    db.session.commit()
    assert queue_gap_events(db.session, now=now) == 0  # once per role
    cancel_session(session, now=now)
    db.session.commit()

    deliver_due(db.session, now=now)
    events = [b["event"] for b in receiver.bodies()]
    assert events == (
        ["session.posted", "session.moved", "place.freed"]
        + ["role.gaps"] * len(slots)
        + ["session.cancelled"]
    )
    moved = receiver.bodies()[1]
    assert moved["previous_starts_at"] < moved["session"]["starts_at"]
    freed = receiver.bodies()[2]
    assert freed["role"]["id"] == slot.id and freed["role"]["gaps"] == slot.headcount
    assert freed["role"]["names"]["ja"] and freed["role"]["names"]["en"]
    assert receiver.bodies()[-1]["session"]["status"] == "cancelled"
    assert isinstance(place, Assignment)


def test_a_series_is_one_event(app, make, client, auth, receiver):
    organizer = make.user()
    group = make.group(organizer)
    _webhook(group, organizer, receiver.url)
    auth.login_as(organizer)
    first = date.today() + timedelta(days=10)
    response = client.post(
        f"/g/{group.slug}/series/new",
        data={
            "title": "もくもく会",
            "pattern": "weekly",
            "weekday": "SA",
            "interval": "1",
            "first_day": first.isoformat(),
            "months": "2",
            "start_time": "10:00",
            "end_time": "12:00",
            "venue": "Hall",
        },
        buffered=True,  # the response closes: the deliveries go after it (call_on_close)
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    [body] = receiver.bodies()
    assert body["event"] == "series.posted" and len(body["sessions"]) >= 8
    assert body["series"]["title"] == "もくもく会"


# --- the organizer's pages ----------------------------------------------------------------


def test_organizer_adds_a_webhook_and_sees_its_attempts(
    app, make, client, auth, receiver, count_queries
):
    organizer = make.user(locale="ja")
    group = make.group(organizer)
    auth.login_as(organizer)
    assert "webhooks" in client.get(f"/g/{group.slug}").get_data(as_text=True)
    assert client.get(f"/g/{group.slug}/webhooks/new").status_code == 200

    response = client.post(
        f"/g/{group.slug}/webhooks/new",
        data={
            "url": receiver.url,
            "events": ["session.posted", "place.freed"],
            "format": "json",
            "language": "ja",
            "gap_days_before": "7",
        },
    )
    assert response.status_code == 302
    webhook = db.session.scalar(sa.select(Webhook))
    assert webhook.events == ["session.posted", "place.freed"] and webhook.language == "ja"
    client.post(f"/g/{group.slug}/webhooks/{webhook.id}/test", buffered=True)
    [test_event] = receiver.bodies()
    assert test_event["event"] == "test"
    for n in range(3):
        make.session(group, day=date.today() + timedelta(days=20 + n))
    receiver.statuses = [500, 404]
    deliver_due(db.session, now=_now())

    url = f"/g/{group.slug}/webhooks/{webhook.id}"
    with count_queries() as queries:
        page = client.get(url)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert webhook.secret in text and "X-Studygroup-Signature" in text
    assert "500" in text and "404" in text and "HTTP 500" in text
    assert queries.count == 3, queries.statements  # viewer and group, webhook, attempts
    url = f"/g/{group.slug}/webhooks"
    with count_queries() as queries:
        assert client.get(url).status_code == 200
    assert queries.count == 2, queries.statements


def test_a_private_address_is_refused_next_to_the_field(app, make, client, auth):
    organizer = make.user()
    group = make.group(organizer)
    auth.login_as(organizer)
    for url in ("http://localhost:5000/hook", "http://169.254.169.254/", "ftp://example.com/"):
        response = client.post(
            f"/g/{group.slug}/webhooks/new",
            data={
                "url": url,
                "events": ["session.posted"],
                "format": "json",
                "language": "en",
                "gap_days_before": "7",
            },
            headers={"Accept-Language": "en"},
        )
        assert response.status_code == 422
        text = response.get_data(as_text=True)
        assert "public internet" in text or "http://" in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Webhook)) == 0


def test_members_and_other_organizers_cannot_reach_webhooks(app, make, client, auth):
    organizer = make.user()
    group = make.group(organizer)
    webhook = _webhook(group, organizer, "https://example.com/hook")
    member = make.member(group)
    other_organizer = make.user()
    other = make.group(other_organizer)

    base = f"/g/{group.slug}/webhooks"
    assert client.get(base).status_code == 302  # log in first
    auth.login_as(member)
    assert client.get(base).status_code == 403
    assert client.get(f"{base}/{webhook.id}").status_code == 403
    assert client.post(f"{base}/{webhook.id}/archive").status_code == 403
    auth.login_as(other_organizer)
    assert client.get(f"{base}/{webhook.id}").status_code == 403
    assert client.get(f"/g/{other.slug}/webhooks/{webhook.id}").status_code == 404
    assert client.post(f"/g/{other.slug}/webhooks/{webhook.id}/archive").status_code == 404
    auth.login_as(organizer)
    assert client.post(f"{base}/{webhook.id}/archive").status_code == 302
    db.session.expire_all()
    assert webhook.archived_at is not None  # kept, not deleted


def test_the_page_in_japanese(app, make, client, auth):
    organizer = make.user(locale="ja")
    group = make.group(organizer)
    webhook = _webhook(group, organizer, "https://example.com/hook", fmt=WebhookFormat.SLACK)
    auth.login_as(organizer)
    text = client.get(f"/g/{group.slug}/webhooks/{webhook.id}").get_data(as_text=True)
    assert "テストイベントを送る" in text and "Slack" in text


def test_two_senders_at_once_post_each_delivery_once(app, make, receiver):
    """Two `send-webhooks` runs overlapping (cron, and a page's after-response send): the
    claim's conditional UPDATE gives each delivery to one of them."""
    organizer = make.user()
    group = make.group(organizer)
    _webhook(group, organizer, receiver.url)
    for n in range(6):
        make.session(group, day=date.today() + timedelta(days=20 + n))
    receiver.delay = 0.05  # each POST takes a moment, so the runs overlap
    reports = []

    def run():
        with app.app_context():
            reports.append(deliver_due(db.session, now=_now()))
            db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [r["headers"]["X-Studygroup-Delivery"] for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert sum(r.delivered for r in reports) == 6


def test_organizer_edits_pauses_and_archives(app, make, client, auth, receiver):
    organizer = make.user()
    group = make.group(organizer)
    webhook = _webhook(group, organizer, receiver.url)
    auth.login_as(organizer)
    base = f"/g/{group.slug}/webhooks/{webhook.id}"
    assert client.get(f"{base}/edit").status_code == 200

    response = client.post(
        f"{base}/edit",
        data={
            "url": receiver.url + "/discord",
            "events": ["session.cancelled"],
            "format": "discord",
            "language": "ja",
            "gap_days_before": "3",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert webhook.format == WebhookFormat.DISCORD and webhook.events == ["session.cancelled"]
    assert webhook.gap_days_before == 3 and webhook.url.endswith("/discord")
    response = client.post(
        f"{base}/edit",
        data={"url": receiver.url, "events": [], "format": "json", "gap_days_before": "0"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Choose at least one event." in text and "Enter a number from 1 to 60." in text

    client.post(f"{base}/pause")
    db.session.expire_all()
    assert webhook.paused_at is not None and not webhook.paused_for_failing
    client.post(f"{base}/test", buffered=True)
    assert receiver.requests == []  # paused: no test event either
    client.post(f"{base}/resume")
    client.post(f"{base}/test", buffered=True)
    [request] = receiver.requests
    assert request["headers"]["X-Studygroup-Event"] == "test"
    assert "テストイベント" in receiver.bodies()[0]["content"]  # Discord's shape, in Japanese

    client.post(f"{base}/archive")
    assert client.get(f"{base}/edit").status_code == 404
    assert client.post(f"{base}/resume").status_code == 404
    assert client.get(base).status_code == 200  # its history stays readable
