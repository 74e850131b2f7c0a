"""The site's address: emails never take it from a request's Host header; production starts
only when it knows it; with TRUSTED_HOSTS any other Host is refused."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from studygroup import create_app
from studygroup.extensions import db
from studygroup.sessions.models import RoleSlot
from studygroup.signups.models import Assignment
from studygroup.urls import DEVELOPMENT_BASE_URL


def _promotion_by_a_cancel_with_a_forged_host(client, auth, make, smtp_server):
    """Two members want the one reception place; the first cancels with `Host: evil.example`,
    which promotes the second. Returns the promoted member's email."""
    group = make.group(make.user(), slug="hosts")
    first = make.member(group, make.user("first@example.com", locale="en"))
    second = make.member(group, make.user("second@example.com", locale="en"))
    session = make.session(group, day=date.today() + timedelta(days=10))
    reception = db.session.scalar(
        sa.select(RoleSlot).where(RoleSlot.session_id == session.id).offset(1).limit(1)
    )
    reception.headcount = 1
    db.session.commit()
    for member in (first, second):
        auth.login_as(member)
        client.post(f"/g/hosts/slots/{reception.id}/signup")
    place = db.session.scalar(sa.select(Assignment).where(Assignment.user_id == first.id))
    forged = {"Host": "evil.example"}
    with client.session_transaction(headers=forged) as cookie:  # the session cookie, for that host
        cookie["_user_id"] = first.get_id()
    response = client.post(f"/g/hosts/places/{place.id}/cancel", headers=forged)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/g/hosts/sessions/")
    promoted = smtp_server.to("second@example.com")[-1]
    assert "A place freed up" in promoted["Subject"]
    return promoted.get_content(), session


def test_emails_never_take_their_links_from_the_request_host(client, auth, make, smtp_server):
    body, session = _promotion_by_a_cancel_with_a_forged_host(client, auth, make, smtp_server)
    assert "evil.example" not in body
    # No PUBLIC_BASE_URL (tests, development): the development server's address.
    assert f"{DEVELOPMENT_BASE_URL}/g/hosts/sessions/{session.id}" in body
    assert f"{DEVELOPMENT_BASE_URL}/profile" in body


def test_emails_link_to_the_public_base_url(app, client, auth, make, smtp_server):
    app.config["PUBLIC_BASE_URL"] = "https://study.example/sg/"
    body, session = _promotion_by_a_cancel_with_a_forged_host(client, auth, make, smtp_server)
    assert "evil.example" not in body
    assert f"https://study.example/sg/g/hosts/sessions/{session.id}" in body


def _production(monkeypatch, trusted_hosts_variable=None, **config):
    monkeypatch.setenv("STUDYGROUP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("STUDYGROUP_PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("STUDYGROUP_TRUSTED_HOSTS", raising=False)
    if trusted_hosts_variable:
        monkeypatch.setenv("STUDYGROUP_TRUSTED_HOSTS", trusted_hosts_variable)
    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", **config})


def test_production_refuses_to_start_without_knowing_its_address(monkeypatch):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL is not set"):
        _production(monkeypatch)
    with pytest.raises(RuntimeError, match="must be a host name"):
        _production(monkeypatch, TRUSTED_HOSTS=[".example.org"])
    with pytest.raises(RuntimeError, match="must be an http"):
        _production(monkeypatch, PUBLIC_BASE_URL="studygroup.example")
    assert _production(monkeypatch, PUBLIC_BASE_URL="https://sg.example").config["ENV_NAME"]


def test_production_with_trusted_hosts_only_mails_the_first_one(monkeypatch):
    app = _production(monkeypatch, "sg.example, www.sg.example")
    assert app.config["TRUSTED_HOSTS"] == ["sg.example", "www.sg.example"]
    from studygroup.urls import external_url

    with app.test_request_context("/", headers={"Host": "www.sg.example"}):
        assert external_url("auth.profile") == "https://sg.example/profile"


def test_an_untrusted_host_gets_400(app_factory, make):
    app = app_factory(TRUSTED_HOSTS=["sg.example", ".sg.example"], WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.get("/healthz", headers={"Host": "sg.example"}).status_code == 200
    assert client.get("/login", headers={"Host": "www.sg.example"}).status_code == 200
    for host in ("evil.example", "sg.example.evil.example", "evil.example:443"):
        response = client.get("/login", headers={"Host": host})
        assert response.status_code == 400, host
        assert "evil" not in response.get_data(as_text=True)
        refused = client.post("/login", data={"email": "a@b.c"}, headers={"Host": host})
        assert refused.status_code == 400


def test_pages_link_feeds_to_the_trusted_host_they_were_asked_on(app_factory, make):
    make.group(make.user(), slug="open")
    db.session.commit()
    app = app_factory(TRUSTED_HOSTS=["sg.example"])
    page = app.test_client().get("/g/open", headers={"Host": "sg.example"})
    assert "webcal://sg.example/g/open/calendar.ics" in page.get_data(as_text=True)


def test_links_to_copy_on_pages_use_the_public_base_url(app, client, auth, make):
    """An invitation or a shared co-workers link is copied and sent on: it names the site's
    public address, not the host this page happened to be asked on."""
    app.config["PUBLIC_BASE_URL"] = "https://study.example"
    organizer = make.user()
    group = make.group(organizer, slug="copyme")
    organizer.coworkers_visibility = "link"
    db.session.commit()
    auth.login_as(organizer)
    internal = {"Host": "10.0.0.5:8000"}
    with client.session_transaction(headers=internal) as cookie:
        cookie["_user_id"] = organizer.get_id()
    members = client.get("/g/copyme/members", headers=internal).get_data(as_text=True)
    assert f"https://study.example/g/copyme/invite/{group.invite_token}" in members
    assert "10.0.0.5" not in members
    page = client.get(f"/people/{organizer.id}/coworkers", headers=internal).get_data(as_text=True)
    assert f"https://study.example/coworkers/link/{organizer.coworkers_link_token}" in page
    assert "10.0.0.5" not in page
