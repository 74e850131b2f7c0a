"""Email through an outbox: queue in the change's transaction, send after commit.

`queue_email` writes the message (in the member's language) as a row; `deliver` claims rows
one by one with a conditional UPDATE and sends them over SMTP, so two senders never send the
same row, and a failed send stays pending for the next run. With no MAIL_SERVER configured
(development) messages are written to the log instead.
"""

import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.i18n import locale_of
from studygroup.mail.models import EmailStatus, OutboundEmail

MAX_ATTEMPTS = 8
STALE_CLAIM = timedelta(minutes=10)

# kind -> (subject, first line, the member's setting that turns it off)
MESSAGES = {
    "signup_confirmed": (
        _l("You are signed up: %(role)s, %(session)s"),
        _l("Thank you for helping! Your place is confirmed."),
        "email_signups",
    ),
    "waitlist_joined": (
        _l("On the waitlist: %(role)s, %(session)s"),
        _l(
            "The role is full, so you are on the waitlist. If a place frees up, it is yours "
            "and we tell you by email."
        ),
        "email_waitlist",
    ),
    "waitlist_promoted": (
        _l("A place freed up — you are in: %(role)s, %(session)s"),
        _l("Someone cancelled and you were first on the waitlist: your place is confirmed."),
        "email_waitlist",
    ),
    "request_received": (
        _l("Request sent: %(role)s, %(session)s"),
        _l("An organizer will confirm or decline your request."),
        "email_signups",
    ),
    "request_approved": (
        _l("Confirmed: %(role)s, %(session)s"),
        _l("An organizer confirmed your request. Thank you!"),
        "email_signups",
    ),
    "request_declined": (
        _l("Not this time: %(role)s, %(session)s"),
        _l("An organizer declined your request for this session."),
        "email_signups",
    ),
    "place_cancelled": (
        _l("Cancelled: %(role)s, %(session)s"),
        _l("Your place is cancelled. Thank you for letting us know in time."),
        "email_signups",
    ),
    "place_removed": (
        _l("Your place was removed: %(role)s, %(session)s"),
        _l("An organizer removed your place in this role."),
        "email_signups",
    ),
    "assigned": (
        _l("You were assigned: %(role)s, %(session)s"),
        _l("An organizer gave you this place. If you cannot come, please cancel it."),
        "email_signups",
    ),
    "session_changed": (
        _l("Changed: %(session)s"),
        _l("The session you are helping at has changed."),
        "email_session_changes",
    ),
    "session_cancelled": (
        _l("Cancelled: %(session)s"),
        _l("The session you were helping at is cancelled. Thank you all the same."),
        "email_session_changes",
    ),
    "reminder": (
        _l("Reminder: %(role)s, %(session)s"),
        _l("A reminder of your place at the coming session."),
        "email_reminders",
    ),
    # To organizers: something waits for their answer.
    "talk_request": (
        _l("To answer: %(name)s asks to speak at %(session)s"),
        _l("%(name)s asks for a place as %(role)s. It waits for an organizer's answer."),
        "email_organizer_requests",
    ),
    "approval_request": (
        _l("To answer: %(name)s asks for a place as %(role)s, %(session)s"),
        _l(
            "%(name)s asks for a place as %(role)s. After their no-shows in this group, "
            "their sign-ups wait for an organizer's answer."
        ),
        "email_organizer_requests",
    ),
    "join_request": (
        _l("To answer: %(name)s asks to join %(group)s"),
        _l("%(name)s asks to join the group. It waits for an organizer's answer."),
        "email_organizer_requests",
    ),
}

# The kinds that go to organizers, about someone else's request.
TO_ORGANIZERS = {"talk_request", "approval_request", "join_request"}


@dataclass(frozen=True)
class Link:
    """A page of the site, built into an absolute link when the message is written."""

    endpoint: str
    values: dict = field(default_factory=dict)
    anchor: str = ""


CHANGE_NAMES = {
    "time": _l("time"),
    "venue": _l("venue"),
    "details": _l("title or description"),
    "status": _l("it takes place after all"),
}


def queue_email(
    db_session: Session,
    *,
    user: User,
    kind: str,
    now: datetime,
    place=None,
    session=None,
    changes: tuple[str, ...] = (),
    dedupe_key: str | None = None,
    group=None,
    about: User | None = None,
    answer_at: Link | None = None,
) -> OutboundEmail | None:
    """Write one message for `user` into the outbox, in their language.

    Returns None when the member turned this kind of email off. With `dedupe_key` the row is
    unique: inserting it is how a reminder is claimed (IntegrityError: someone else did).
    Messages to organizers name who asks (`about`) and where to answer (`answer_at`); a join
    request has a `group` and no session.
    """
    from studygroup.i18n import format_datetime as format_local
    from studygroup.i18n import format_time_range
    from studygroup.templating import role_label

    subject_text, intro, setting = MESSAGES[kind]
    if not wants_email(user, kind):
        return None
    slot = place.slot if place is not None else None
    session = session or (slot.session if slot is not None else None)
    group = group or session.group
    with force_locale(locale_of(user)):
        values = {
            "role": role_label(slot.role_type) if slot is not None else "",
            "session": session.title if session is not None else "",
            "group": group.name,
            "name": about.display_name if about is not None else "",
        }
        # One line: a title with a line break must never break the mail header.
        subject = " ".join((str(subject_text) % values).split())
        body = render_template(
            "mail/message.txt",
            user=user,
            intro=str(intro) % values,
            group=group,
            session=session,
            slot=slot,
            place=place,
            role=values["role"],
            when=format_local(session.starts_at, group.timezone) if session else "",
            window=(
                format_time_range(slot.starts_at, slot.ends_at, group.timezone) if slot else ""
            ),
            changes=_list_in_language([str(CHANGE_NAMES[c]) for c in changes]),
            session_url=_session_url(group, session) if session else "",
            answer_url=_link_url(answer_at) if answer_at else "",
            to_organizer=kind in TO_ORGANIZERS,
            settings_url=_url("auth.profile"),
            schedule_url=_url("signups.schedule"),
        )
    message = OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject[:300],
        body=body,
        kind=kind,
        dedupe_key=dedupe_key,
        status=EmailStatus.PENDING,
        created_at=now,
    )
    db_session.add(message)
    db_session.flush()
    db_session.info.setdefault("queued_emails", []).append(message.id)
    return message


def wants_email(user: User, kind: str) -> bool:
    """Whether the member lets this kind of email reach them (their profile's choices)."""
    return bool(getattr(user, MESSAGES[kind][2]))


def _list_in_language(items: list[str]) -> str:
    from flask_babel import get_locale

    return ("、" if str(get_locale()) == "ja" else ", ").join(items)


def _url(endpoint, **values):
    from studygroup.urls import external_url

    return external_url(endpoint, **values)


def _session_url(group, session):
    return _url("sessions.show", slug=group.slug, session_id=session.id)


def _link_url(link: Link) -> str:
    url = _url(link.endpoint, **link.values)
    return f"{url}#{link.anchor}" if link.anchor else url


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def send_queued(db_session: Session, *, now: datetime) -> DeliveryReport:
    """Send the messages this session queued, after the caller's commit. Never raises."""
    ids = db_session.info.pop("queued_emails", [])
    if not ids:
        return DeliveryReport()
    return deliver(db_session, now=now, ids=ids)


def deliver(
    db_session: Session, *, now: datetime, ids: list[int] | None = None, limit: int = 200
) -> DeliveryReport:
    """Claim and send pending messages (or those of `ids`). Commits after each claim and
    each result, so a crash or a failed send never loses or repeats a message."""
    query = sa.select(OutboundEmail.id).where(_claimable(now)).order_by(OutboundEmail.id)
    if ids is not None:
        query = query.where(OutboundEmail.id.in_(ids))
    report = DeliveryReport()
    for message_id in db_session.scalars(query.limit(limit)).all():
        claimed = db_session.execute(
            sa.update(OutboundEmail)
            .where(OutboundEmail.id == message_id, _claimable(now))
            .values(
                status=EmailStatus.SENDING,
                claimed_at=now,
                attempts=OutboundEmail.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        db_session.commit()
        if claimed.rowcount != 1:
            continue  # another sender has it
        message = db_session.get(OutboundEmail, message_id, populate_existing=True)
        try:
            send_message(message)
        except Exception as error:  # any failure: log it, keep the message, go on with the rest
            message.status = (
                EmailStatus.FAILED if message.attempts >= MAX_ATTEMPTS else EmailStatus.PENDING
            )
            message.last_error = f"{type(error).__name__}: {error}"[:500]
            report.failed += 1
            current_app.logger.warning(
                "email not sent; will retry",
                extra={"fields": {"email_id": message.id, "error": message.last_error}},
            )
        else:
            message.status = EmailStatus.SENT
            message.sent_at = now
            report.sent += 1
        db_session.commit()
    return report


def _claimable(now: datetime):
    return sa.or_(
        OutboundEmail.status == EmailStatus.PENDING,
        sa.and_(
            OutboundEmail.status == EmailStatus.SENDING,
            OutboundEmail.claimed_at < now - STALE_CLAIM,
        ),
    )


def send_message(message: OutboundEmail) -> None:
    """Send one message over SMTP with the app's MAIL_* settings (or log it without them)."""
    config = current_app.config
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_SENDER"]))
    email["To"] = message.to_address
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].split("@")[-1])
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    if not config.get("MAIL_SERVER"):
        current_app.logger.info(
            "email (no MAIL_SERVER set, so not sent)",
            extra={
                "fields": {
                    "to": message.to_address,
                    "subject": message.subject,
                    "body": message.body,
                }
            },
        )
        return
    timeout = config["MAIL_TIMEOUT"]
    if config["MAIL_USE_SSL"]:
        smtp = smtplib.SMTP_SSL(
            config["MAIL_SERVER"],
            config["MAIL_PORT"],
            timeout=timeout,
            context=ssl.create_default_context(),
        )
    else:
        smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
    with smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(email)
