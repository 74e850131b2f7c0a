"""`flask send-reminders`: run by cron (e.g. every 15 minutes). It also forgets login
attempts that no throttling rule reads any more, and adds the sessions started since the last
run to the co-working ties (`studygroup.coworking.ties.advance_ties`)."""

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from studygroup.auth.throttle import forget_old_attempts
from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.mail.delivery import deliver
from studygroup.mail.services import claim_in_chunks, compose_email
from studygroup.signups.services import due_reminders, reminder_key


def claim_reminders(db_session, *, now) -> int:
    """Write each due reminder (places, then participants) into the outbox once. The
    outbox's unique `dedupe_key` (place or participant, and lead time) is the claim: when
    two runs overlap, a reminder the other run wrote first is left out of this run's
    insert, so no reminder is ever written twice.
    Composes them all, then writes them in chunks (a transaction each). Returns how many it
    claimed."""
    messages = []
    for place, lead in due_reminders(db_session, now=now):
        message = compose_email(
            user=place.user,
            kind="reminder",
            place=place,
            now=now,
            dedupe_key=reminder_key(place, lead),
        )
        if message is not None:
            messages.append(message)
    # Participants' reminders, claimed the same way (their own dedupe keys).
    from studygroup.participants.reminders import (
        due_participant_reminders,
        participant_reminder_key,
    )

    for participant, lead in due_participant_reminders(db_session, now=now):
        message = compose_email(
            user=participant.user,
            kind="participant_reminder",
            participant=participant,
            session=participant.session,
            now=now,
            dedupe_key=participant_reminder_key(participant, lead),
        )
        if message is not None:
            messages.append(message)
    return claim_in_chunks(db_session, messages)


@click.command("send-reminders")
@with_appcontext
def send_reminders_command() -> None:
    """Queue due reminders, then send every pending email (retrying failed ones) within
    MAIL_RUN_BUDGET_SECONDS."""
    # The command is the cron's door, not a rule of this layer: coworking sits above signups.
    from studygroup.coworking.ties import advance_ties

    started = time.monotonic()
    now = utcnow()
    ties = advance_ties(db.session, now=now)
    db.session.commit()
    claimed = claim_reminders(db.session, now=now)
    budget = current_app.config["MAIL_RUN_BUDGET_SECONDS"] - (time.monotonic() - started)
    report = deliver(db.session, now=utcnow(), budget=max(budget, 0))
    forgotten = forget_old_attempts(db.session, now=utcnow(), config=current_app.config)
    db.session.commit()
    click.echo(
        f"reminders queued: {claimed}; "
        f"sent {report.sent}, left {report.left}, failed {report.failed}; "
        f"old login records deleted: {forgotten}; "
        f"sessions added to the co-working ties: {ties.sessions}"
    )
