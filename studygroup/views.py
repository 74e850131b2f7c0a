"""Small helpers shared by the thin views."""

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from studygroup.db import utcnow
from studygroup.extensions import db
from studygroup.i18n import role_label
from studygroup.mail.delivery import claim_on_insert, claim_queued, send_queued
from studygroup.mail.services import wants_email
from studygroup.rules import RuleViolation
from studygroup.signups.models import AssignmentStatus


def commit_unless_duplicate() -> bool:
    """Commit; on a unique-constraint clash (a double click, two tabs) roll back and say no.

    The form's own checks catch duplicates first; this is for the race between two requests.
    """
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()
        return False
    return True


def commit_and_send() -> None:
    """Commit the change, then send the emails it queued. A failed send is logged and left
    in the outbox for `send-reminders` to retry; it never undoes the change."""
    claim_queued(db.session, now=utcnow())
    db.session.commit()
    send_committed_emails()


def send_after_commit() -> None:
    """Say, before the change, that this request ends with `commit_and_send`: the emails the
    change queues are then written claimed for that send, which saves the claim's statement
    (`claim_on_insert`)."""
    claim_on_insert(db.session, now=utcnow())


def send_committed_emails() -> None:
    """Send the emails the committed change queued (see `commit_and_send`)."""
    try:
        send_queued(db.session, now=utcnow())
    except Exception:  # the change is saved; the outbox keeps the mail for the next run
        db.session.rollback()
        current_app.logger.exception("sending queued email failed")


def show_violation(form, error: RuleViolation) -> None:
    """Put a refused rule next to its field, or as a flash message when it has none."""
    field = getattr(form, error.field, None) if (form is not None and error.field) else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(str(error.message), "error")


@contextmanager
def refused_back_to(back: str | Response) -> Iterator[None]:
    """The one answer of a page to a refused rule: run the block; when a `RuleViolation`
    leaves it, undo the change, flash the rule's sentence and end the request with `back`.

    `back` is the view's own way back (a redirect, or a URL for one), made with `url_for` or a
    checked `next`, never a URL taken from the request unchecked. Forms that show the refusal
    next to a field catch the violation themselves (`show_violation`).
    """
    try:
        yield
    except RuleViolation as refused:
        db.session.rollback()
        flash(str(refused.message), "error")
        # abort() with a response ends the request with exactly that response.
        abort(back if isinstance(back, Response) else redirect(back))


def told_by_email(done: str, member, kind: str | None) -> str:
    """`done`, and that the member is told by email when this kind of email reaches them
    (their profile's choices), so every staffing message says it the same way."""
    if kind and wants_email(member, kind):
        return _("%(done)s %(name)s is told by email.", done=done, name=member.display_name)
    return done


def signed_up_message(place, role_type) -> str:
    """What a member is told after signing up (page and API alike), by where the place landed."""
    if place.status == AssignmentStatus.CONFIRMED:
        return _("You are signed up as %(role)s. Thank you!", role=role_label(role_type))
    if place.status == AssignmentStatus.WAITLISTED:
        return _(
            "The role is full: you are on the waitlist. We will email you if a place frees up."
        )
    return _("Your request is sent. An organizer will answer it.")


def moved_up_message(place) -> str:
    """A member promoted from the waitlist by someone else's change (cancel, removal, a
    larger head-count)."""
    return told_by_email(
        _("%(name)s moved up from the waitlist.", name=place.user.display_name),
        place.user,
        "waitlist_promoted",
    )
