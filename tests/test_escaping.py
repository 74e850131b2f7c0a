"""Names, titles and role names typed by people reach other people's pages as text, never as
markup, whichever way a message travels: a refusal on the page, a field error, a flash.

Flask-Babel's lazy strings have `__html__`, so Jinja and Flask's session would take a lazy
message with a member's name in it for safe HTML (review of issue 9, R1)."""

from datetime import date, timedelta

from flask import flash, get_flashed_messages, render_template_string
from flask_babel import lazy_gettext as _l

from studygroup.extensions import db
from tests.factories import slots_of

EVIL = '<a href="https://evil.example">X</a>'
ESCAPED = "&lt;a href=&#34;https://evil.example&#34;&gt;X&lt;/a&gt;"
LIVE = '<a href="https://evil'


def _text_not_markup(page: str) -> None:
    assert ESCAPED in page
    assert LIVE not in page


def test_a_refused_assignment_shows_a_markup_name_as_text(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    member = make.member(group, make.user(display_name=EVIL))
    session = make.session(group, day=date.today() + timedelta(days=10))
    reception = slots_of(session)["reception"]
    auth.login_as(organizer)
    url = f"/g/{group.slug}/sessions/{session.id}/staffing/assign"
    client.post(url, data={"slot_id": reception.id, "user_id": member.id})
    again = client.post(url, data={"slot_id": reception.id, "user_id": member.id})
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert f"{ESCAPED} already has this place." in page
    _text_not_markup(page)


def test_refusals_on_the_session_page_show_a_markup_role_name_as_text(client, auth, make):
    group = make.group()
    member = make.member(group)
    session = make.session(group, day=date.today() + timedelta(days=10))
    slots = slots_of(session)
    slots["reception"].role_type.name = EVIL  # an organizer's name for the role
    db.session.commit()
    auth.login_as(member)
    signed = client.post(f"/g/{group.slug}/slots/{slots['reception'].id}/signup")
    assert signed.status_code == 302
    # Setup overlaps reception: refused with a flash (as from a page opened before).
    flashed = client.post(f"/g/{group.slug}/slots/{slots['setup'].id}/signup")
    assert flashed.status_code == 302
    page = client.get(flashed.headers["Location"]).get_data(as_text=True)
    assert f"your place as {ESCAPED} at the same session" in page
    _text_not_markup(page)
    # The speaker's time overlaps too: a request comes back on the page itself.
    refused = client.post(
        f"/g/{group.slug}/slots/{slots['speaker'].id}/signup",
        data={"talk_title": "A talk", "talk_abstract": ""},
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert f"Overlaps your place as {ESCAPED}" in page
    _text_not_markup(page)


def test_a_field_error_shows_a_markup_session_title_as_text(client, auth, make):
    organizer = make.user()
    group = make.group(organizer)
    day = date.today() + timedelta(days=20)
    make.session(group, day=day, title=EVIL)
    auth.login_as(organizer)
    response = client.post(
        f"/g/{group.slug}/sessions/new",
        data={"title": "Again", "day": day.isoformat(), "start_time": "10:00", "end_time": "12:00"},
    )
    page = response.get_data(as_text=True)
    assert f"starts at this time: {ESCAPED}." in page
    _text_not_markup(page)


def test_a_flashed_lazy_message_stays_text_after_the_session_round_trip(app, client):
    """A lazy string in the session cookie came back as Markup (Flask tags anything with
    `__html__` as Markup), so it was shown unescaped on the next page."""

    @app.get("/_test/flash")
    def _flash():
        flash(_l("%(name)s is in.", name=EVIL), "success")
        return "ok"

    @app.get("/_test/show")
    def _show():
        return render_template_string(
            "{% for m in get_flashed_messages() %}<p>{{ m }}</p>{% endfor %}"
        )

    client.get("/_test/flash")
    page = client.get("/_test/show").get_data(as_text=True)
    assert f"<p>{ESCAPED} is in.</p>" in page
    _text_not_markup(page)


def test_every_template_shows_a_lazy_message_as_text(app):
    """Lazy strings anywhere in a template: an expression, a macro's argument, a description."""
    with app.test_request_context():
        page = render_template_string(
            "{% macro box(text) %}<div>{{ text }}</div>{% endmacro %}"
            "<p>{{ message }}</p>{{ box(message) }}<p>{{ 'before: ' ~ message }}</p>",
            message=_l("%(name)s is in.", name=EVIL),
        )
        assert page.count(f"{ESCAPED} is in.") == 3
        _text_not_markup(page)
        assert get_flashed_messages() == []


def test_markup_meant_as_markup_still_renders(app):
    """Translated template text with variables, and Markup the app makes, stay markup."""
    with app.test_request_context():
        page = render_template_string(
            '{{ _("Hello %(name)s", name=name) }}<a href="{{ url }}">{{ _("Home") }}</a>',
            name=EVIL,
            url="/home",
        )
    assert '<a href="/home">Home</a>' in page
    _text_not_markup(page)
