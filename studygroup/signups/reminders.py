"""`flask send-reminders`: run by cron (e.g. every 15 minutes)."""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.mail.services import deliver, queue_email
from studygroup.signups.services import due_reminders


def claim_reminders(db_session, *, now) -> int:
    """Write each due reminder into the outbox once. The outbox's unique `dedupe_key`
    (place and lead time) is the claim: when two runs overlap, the second insert fails and
    that run moves on, so no reminder is ever written twice. Returns how many it claimed."""
    claimed = 0
    # One transaction per reminder (no savepoints: SQLite's driver mishandles them).
    for place, lead in due_reminders(db_session, now=now):
        try:
            message = queue_email(
                db_session,
                user=place.user,
                kind="reminder",
                place=place,
                now=now,
                dedupe_key=f"reminder:{place.id}:{lead}",
            )
            db_session.commit()
        except sa.exc.IntegrityError:
            db_session.rollback()  # another run claimed it
            continue
        if message is not None:
            claimed += 1
    db_session.info.pop("queued_emails", None)
    return claimed


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Queue due reminders, then send every pending email (retrying failed ones)."""
    now = utcnow()
    claimed = claim_reminders(db.session, now=now)
    report = deliver(db.session, now=now)
    click.echo(f"reminders queued: {claimed}; emails sent: {report.sent}, failed: {report.failed}")
