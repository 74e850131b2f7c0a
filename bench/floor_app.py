"""The least a web app on this stack does for three of issue 13's targets, for `bench.floor`.

Not studygroup: a Flask app with none of its code, served by the same gunicorn settings, so
that what it reaches under the same load is a ceiling no design of studygroup's pages can
pass on the same machine. Each route does only the work its target cannot do without:

- `/healthz`: nothing (the ratio's denominator, as in studygroup).
- `/revision`: one autocommit read of a revision number per request, then 304 or 200 by the
  ETag: a cached feed's or a 304's least work when the cache is checked against the database
  on every request (issue 13: "a change is seen on the next request").
- `POST /slots/<id>/signup` and `/sessions/<id>`: a sign-up in one transaction (the member by
  a cookie token, the slot's lock, the count, the place, its log line, its email in the
  outbox, the revision), a flash in a cookie and a redirect; then the page: the member and
  the revision in one statement, the places with names in another, a small Jinja template.
  No CSRF check, no ORM, no Babel, no layout: less than any real page does.

The tables are made by `bench.floor` with `create_all` (a benchmark's scratch database; the
app's own schema comes from its migrations only). `FLOOR_DATABASE_URL` names the database.
"""

import gc
import os
from urllib.parse import quote, unquote

import sqlalchemy as sa
from flask import Flask, Response, redirect, render_template_string, request

metadata = sa.MetaData()
member = sa.Table(
    "floor_member",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
)
slot = sa.Table(
    "floor_slot",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, nullable=False),
    sa.Column("headcount", sa.Integer, nullable=False),
)
place = sa.Table(
    "floor_place",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slot_id", sa.ForeignKey("floor_slot.id"), nullable=False, index=True),
    sa.Column("member_id", sa.ForeignKey("floor_member.id"), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("waitlist_position", sa.Integer),
    sa.UniqueConstraint("slot_id", "member_id"),
)
log = sa.Table(
    "floor_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("place_id", sa.Integer, nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
)
outbox = sa.Table(
    "floor_outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("member_id", sa.Integer, nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)
revision = sa.Table(
    "floor_revision",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("number", sa.Integer, nullable=False),
)

PAGE = """<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{{ title }}</title>
</head><body>{% if flash %}<p class="flash">{{ flash }}</p>{% endif %}
<h1>{{ title }}</h1><p>{{ viewer }}</p><ul>
{% for name, status in places %}<li>{{ name }} ({{ status }})</li>{% endfor %}
</ul></body></html>"""


def create_app() -> Flask:
    app = Flask(__name__)
    engine = sa.create_engine(os.environ["FLOOR_DATABASE_URL"], pool_size=2)
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    revision_now = sa.select(revision.c.number).where(revision.c.id == 1)
    viewer = sa.select(member.c.id, member.c.name, revision_now.scalar_subquery()).where(
        member.c.token == sa.bindparam("token")
    )
    places = (
        sa.select(member.c.name, place.c.status)
        .join(member, member.c.id == place.c.member_id)
        .join(slot, slot.c.id == place.c.slot_id)
        .where(slot.c.session_id == sa.bindparam("session_id"))
        .order_by(place.c.id)
    )

    @app.get("/healthz")
    def healthz():
        return Response("ok", mimetype="text/plain")

    @app.get("/revision")
    def revision_etag():
        with reads.connect() as conn:
            number = conn.execute(revision_now).scalar_one()
        etag = f'"r{number}"'
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", headers={"ETag": etag})

    @app.post("/slots/<int:slot_id>/signup")
    def sign_up(slot_id: int):
        with engine.begin() as conn:
            who = conn.execute(viewer, {"token": request.cookies.get("token", "")}).first()
            if who is None:
                return Response(status=403)
            if engine.dialect.name == "sqlite":
                # No FOR UPDATE in SQLite: a no-op write takes the database's write lock, as
                # studygroup's `db.lock_row` does, so that the count below is the last one.
                conn.execute(slot.update().where(slot.c.id == slot_id).values(id=slot.c.id))
            row = conn.execute(
                sa.select(slot.c.session_id, slot.c.headcount)
                .where(slot.c.id == slot_id)
                .with_for_update()
            ).one()
            confirmed, last = conn.execute(
                sa.select(
                    sa.func.count().filter(place.c.status == "confirmed"),
                    sa.func.coalesce(sa.func.max(place.c.waitlist_position), 0),
                ).where(place.c.slot_id == slot_id)
            ).one()
            status = "confirmed" if confirmed < row.headcount else "waitlisted"
            place_id = conn.execute(
                place.insert().returning(place.c.id),
                {
                    "slot_id": slot_id,
                    "member_id": who.id,
                    "status": status,
                    "waitlist_position": None if status == "confirmed" else last + 1,
                },
            ).scalar_one()
            conn.execute(log.insert(), {"place_id": place_id, "action": status})
            conn.execute(
                outbox.insert(),
                {"member_id": who.id, "subject": f"{status}", "body": f"{who.name}: {status}"},
            )
            conn.execute(
                revision.update().where(revision.c.id == 1).values(number=revision.c.number + 1)
            )
        answer = redirect(f"/sessions/{row.session_id}")
        answer.set_cookie("flash", quote(f"{status}: thank you"))
        return answer

    @app.get("/sessions/<int:session_id>")
    def session_page(session_id: int):
        with reads.connect() as conn:
            who = conn.execute(viewer, {"token": request.cookies.get("token", "")}).first()
            if who is None:
                return Response(status=403)
            rows = conn.execute(places, {"session_id": session_id}).all()
        flash = unquote(request.cookies.get("flash", ""))
        answer = Response(
            render_template_string(
                PAGE, title=f"Session {session_id}", viewer=who.name, places=rows, flash=flash
            )
        )
        if flash:
            answer.delete_cookie("flash")
        return answer

    return app


app = create_app() if "FLOOR_DATABASE_URL" in os.environ else None


def post_worker_init(worker):
    """gunicorn's hook (`--config=python:bench.floor_app`), as `gunicorn.conf.py` has it."""
    gc.freeze()
