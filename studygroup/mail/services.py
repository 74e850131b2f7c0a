"""Email through an outbox: queue in the change's transaction, send after commit.

`queue_email` writes the message (in the member's language) as a row; `deliver` claims rows
in batches under a lease it renews while it sends them over SMTP, so two senders never send
the same row, and a failed send stays pending for the next run. With no MAIL_SERVER
configured (development) messages are written to the log instead.
"""

import contextlib
import secrets
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import insert_ignoring
from studygroup.i18n import locale_of
from studygroup.mail.models import EmailStatus, OutboundEmail

MAX_ATTEMPTS = 8

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
    "waitlist_passed_over": (
        _l("A place freed up, but it overlaps another of your roles: %(role)s, %(session)s"),
        _l(
            "A place freed up in this role, but its time overlaps your place as "
            "%(other_role)s at the same session, so it went to the next person. You keep your "
            "number on the waitlist: to take a place here, first give up %(other_role)s."
        ),
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
    "waitlist_withdrawn": (
        _l("Off the waitlist: %(role)s, %(session)s"),
        _l("You left the waitlist for this role. Thank you for letting us know."),
        "email_waitlist",
    ),
    "request_withdrawn": (
        _l("Request withdrawn: %(role)s, %(session)s"),
        _l("You withdrew your request for this role. Thank you for letting us know."),
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
    "team_place": (
        _l("You are on the team: %(role)s, %(session)s"),
        _l(
            "The organizers formed the team for this session and gave you this place. You can "
            "still give it up under the usual rules, or offer it to someone else."
        ),
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
    # Swaps (signups.offers): a place offered to those who can help, taken by one of them.
    "place_offered": (
        _l("Can you take this place? %(other_role)s, %(session)s"),
        _l(
            "%(name)s cannot come and offers their place as %(other_role)s. You said you can "
            "help, or you wait for this role: the first to take it gets it."
        ),
        "email_signups",
    ),
    "took_place": (
        _l("The place is yours: %(role)s, %(session)s"),
        _l("%(name)s could not come, and you took their place. Thank you for helping!"),
        "email_signups",
    ),
    "place_taken": (
        _l("Your place was taken: %(role)s, %(session)s"),
        _l(
            "%(name)s took your place as %(role)s: you are no longer on this role. Thank you "
            "for finding someone."
        ),
        "email_signups",
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
    "team_suggestion": (
        _l("Suggested team: %(session)s"),
        _l(
            "The session is coming up and its team is not accepted yet. Here is the "
            "suggested team; swap anyone and accept it on the team page:"
        ),
        "email_organizer_requests",
    ),
    "join_request": (
        _l("To answer: %(name)s asks to join %(group)s"),
        _l("%(name)s asks to join the group. It waits for an organizer's answer."),
        "email_organizer_requests",
    ),
    "join_approved": (
        _l("Welcome to %(group)s"),
        _l(
            "An organizer accepted your request to join %(group)s: you can sign up for its "
            "sessions now."
        ),
        "email_signups",
    ),
    "thanks_received": (
        _l("%(name)s sent you a thank-you note: %(session)s"),
        _l("%(name)s, who worked %(session)s with you, sent you a thank-you note:"),
        "email_thanks",
    ),
    # Introductions: a member introduced you (the other is not named before both accept),
    # someone asks you for one, and both accepted (the other's name, note and address).
    "introduction_made": (
        _l("%(name)s would like to introduce you to someone"),
        _l(
            "%(name)s would like to introduce you to someone they know. Do you accept? "
            "Your answer is private: if you decline, no one is told. If you both accept, "
            "each of you gets the other's name and email address, and %(name)s's note."
        ),
        "email_introductions",
    ),
    "introduction_requested": (
        _l("%(name)s asks you for an introduction to %(other)s"),
        _l(
            "%(name)s asks you to introduce them to %(other)s. You may make the introduction "
            "or let the request pass: %(name)s is not told either way."
        ),
        "email_introductions",
    ),
    "introduction_accepted": (
        _l("Introduction complete: you and %(other)s"),
        _l("You and %(other)s both accepted %(name)s's introduction. %(name)s's note:"),
        "email_introductions",
    ),
    "thanks_reported": (
        _l("To answer: a thank-you note was reported, %(session)s"),
        _l(
            "%(name)s reported a thank-you note they received after this session. Please "
            "read it on the session's page and remove it if it is abusive."
        ),
        "email_organizer_requests",
    ),
    # Organizers' announcements (announcements.services writes them with a frame of their
    # own: the subject and text are the organizer's).
    "announcement": (
        _l("[%(group)s] %(subject)s"),
        _l("%(name)s, an organizer of %(group)s, sent this announcement."),
        "email_announcements",
    ),
    # Participants (studygroup.participants): coming to a session, apart from its staff.
    "participant_registered": (
        _l("You are registered: %(session)s"),
        _l(
            "You are registered to take part. Show the QR code or tell your code at "
            "reception on the day."
        ),
        "email_signups",
    ),
    "participant_waitlisted": (
        _l("On the waitlist: %(session)s"),
        _l(
            "The session is full, so you are on the waitlist. If a seat frees up, it is "
            "yours and we tell you by email."
        ),
        "email_waitlist",
    ),
    "participant_promoted": (
        _l("A seat freed up — you are registered: %(session)s"),
        _l(
            "Someone cancelled and you were first on the waitlist: you are registered. Show "
            "the QR code or tell your code at reception on the day."
        ),
        "email_waitlist",
    ),
    "participant_cancelled_by_org": (
        _l("Registration cancelled: %(session)s"),
        _l(
            "Your registration was cancelled by the organizers. If you think this is a "
            "mistake, please ask them."
        ),
        "email_signups",
    ),
    "participant_reminder": (
        _l("Reminder: %(session)s"),
        _l("A reminder of the session you registered for."),
        "email_reminders",
    ),
    "participant_session_changed": (
        _l("Changed: %(session)s"),
        _l("The session you registered for has changed."),
        "email_session_changes",
    ),
    "participant_session_cancelled": (
        _l("Cancelled: %(session)s"),
        _l("The session you registered for is cancelled. We are sorry for the trouble."),
        "email_session_changes",
    ),
    # Account links (studygroup.auth.reset): nobody can turn these off, they are the way in.
    "password_reset": (
        _l("Set a new password for studygroup"),
        _l(
            "Someone, we hope you, asked to set a new password for your studygroup account. "
            "To choose one, open this link:"
        ),
        None,
    ),
    "webhook_paused": (
        _l("Webhook paused: %(group)s"),
        _l(
            "A webhook of %(group)s has failed for days, so it is paused: nothing more is "
            "sent to it until an organizer resumes it. Its address:"
        ),
        None,
    ),
    "walk_in_welcome": (
        _l("Welcome to %(group)s: set your password"),
        _l(
            "You were registered at reception for %(session)s, and an account was made for "
            "you with this email address. To log in, choose your password at this link:"
        ),
        None,
    ),
}

# The kinds whose message carries the participant's code as a QR image (an HTML part).
WITH_QR = {"participant_registered", "participant_promoted", "participant_reminder"}

# The kinds whose message gives the other member's email address (both agreed to it).
SHARES_ADDRESS = {"introduction_accepted"}

# The kinds that go to organizers, about someone else's request.
TO_ORGANIZERS = {
    "talk_request",
    "approval_request",
    "join_request",
    "thanks_reported",
    "team_suggestion",
    "webhook_paused",
}


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


def queue_email(db_session: Session, **what) -> OutboundEmail | None:
    """Write one message into the outbox: `compose_email(**what)`, in the member's language.

    Returns None when the member turned this kind of email off. With `dedupe_key` the
    message is written once: None too when a message with that key is in the outbox already.
    """
    return queue_composed(db_session, compose_email(**what))


def queue_composed(db_session: Session, message: OutboundEmail | None) -> OutboundEmail | None:
    """Write a composed message into the outbox (see `queue_email`); the caller commits and
    `send_queued` sends it after the commit."""
    if message is None:
        return None
    if message.dedupe_key is None:
        run = db_session.info.get(_CLAIMING)
        if run is not None:
            _claim_on_insert(message, run)
        db_session.add(message)
        db_session.flush()
        if run is not None:
            db_session.info.setdefault(_CLAIMED_ON_INSERT, []).append(_Claimed.of(message))
    else:
        written = queue_new_emails(db_session, [message])
        if not written:
            return None
        message.id = written[0]
    db_session.info.setdefault("queued_emails", []).append(message.id)
    return message


def queue_new_emails(db_session: Session, messages: list[OutboundEmail]) -> list[int]:
    """Write composed messages in one statement, leaving out any whose `dedupe_key` is in
    the outbox already (another run claimed it); the ids of those written. The caller
    commits."""
    if not messages:
        return []
    columns = (
        "user_id",
        "to_address",
        "subject",
        "body",
        "kind",
        "dedupe_key",
        "status",
        "qr_text",
    )
    rows = [{c: getattr(m, c) for c in columns} | {"created_at": m.created_at} for m in messages]
    return insert_ignoring(
        db_session,
        OutboundEmail,
        rows,
        index_elements=[OutboundEmail.dedupe_key],
        returning=OutboundEmail.id,
    )


CLAIM_CHUNK = 200


def claim_in_chunks(db_session: Session, messages: list[OutboundEmail]) -> int:
    """`queue_new_emails` for a job's many messages (reminders, digests): a transaction of
    CLAIM_CHUNK at a time, so a long run holds no lock for long. Returns how many it wrote."""
    claimed = 0
    for start in range(0, len(messages), CLAIM_CHUNK):
        claimed += len(queue_new_emails(db_session, messages[start : start + CLAIM_CHUNK]))
        db_session.commit()
    return claimed


def compose_email(
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
    other_place=None,
    link: Link | None = None,
    note: str = "",
    other: User | None = None,
    participant=None,
) -> OutboundEmail | None:
    """One message for `user` in their language, not yet in the outbox (None when the
    member turned this kind of email off). Messages to organizers name who asks (`about`)
    and where to answer (`answer_at`); a join request has a `group` and no session.
    `other_place` is the member's place a message speaks of besides `place` (%(other_role)s).
    `link` is the page the message points to when it is not the session's. `note` is a
    member's own words (a thank-you note), quoted as they wrote them. `other` is a second
    member the message names (%(other)s; an introduction's other side), with their address
    only for the kinds in SHARES_ADDRESS. A message with neither session nor group (an
    introduction) names no group at all. `participant` is a registration to come to
    `session` (pass the session too): its status, code and, for WITH_QR, its QR code.
    """
    from studygroup.i18n import format_datetime as format_local
    from studygroup.i18n import format_time_range
    from studygroup.templating import role_label

    subject_text, intro, setting = MESSAGES[kind]
    if not wants_email(user, kind):
        return None
    slot = place.slot if place is not None else None
    session = session or (slot.session if slot is not None else None)
    group = group or (session.group if session is not None else None)
    with force_locale(locale_of(user)):
        values = {
            "role": role_label(slot.role_type) if slot is not None else "",
            "session": session.title if session is not None else "",
            "group": group.name if group is not None else "",
            "name": about.display_name if about is not None else "",
            "other": other.display_name if other is not None else "",
        }
        if other_place is not None:
            values["other_role"] = role_label(other_place.slot.role_type)
        # One line: a title with a line break must never break the mail header.
        subject = " ".join((str(subject_text) % values).split())
        body = render_template(
            "mail/message.txt",
            user=user,
            intro=str(intro) % values,
            note=note,
            group=group,
            session=session,
            slot=slot,
            place=place,
            role=values["role"],
            when=format_local(session.starts_at, group.timezone) if session else "",
            contact=other if kind in SHARES_ADDRESS else None,
            window=(
                format_time_range(slot.starts_at, slot.ends_at, group.timezone) if slot else ""
            ),
            changes=_list_in_language([str(CHANGE_NAMES[c]) for c in changes]),
            page_url=(_link_url(link) if link else _session_url(group, session) if session else ""),
            answer_url=_link_url(answer_at) if answer_at else "",
            to_organizer=kind in TO_ORGANIZERS,
            settings_url=_url("auth.profile"),
            schedule_url=_url("signups.schedule"),
            participant=participant,
            participation_url=(
                _url("participants.show", slug=group.slug, session_id=session.id)
                if participant is not None
                else ""
            ),
        )
    return OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject[:300],
        body=body,
        kind=kind,
        dedupe_key=dedupe_key,
        status=EmailStatus.PENDING,
        created_at=now,
        qr_text=participant.code if participant is not None and kind in WITH_QR else None,
    )


def wants_email(user: User, kind: str) -> bool:
    """Whether the member lets this kind of email reach them (their profile's choices; a
    kind with no setting, such as a password link, always does)."""
    setting = MESSAGES[kind][2]
    return setting is None or bool(getattr(user, setting))


def compose_password_email(
    *,
    user: User,
    kind: str,
    now: datetime,
    link_url: str,
    valid_for: timedelta,
    session=None,
    participant=None,
) -> OutboundEmail:
    """A message with a link to set a password (`kind` "password_reset", or "walk_in_welcome"
    with the `session` and `participant` of the walk-in), in the member's language. The link
    is in the body only: the outbox keeps it until it expires or is used."""
    from flask_babel import ngettext

    from studygroup.i18n import format_datetime as format_local

    subject_text, intro, _setting = MESSAGES[kind]
    group = session.group if session is not None else None
    with force_locale(locale_of(user)):
        values = {
            "session": session.title if session is not None else "",
            "group": group.name if group is not None else "",
        }
        hours = round(valid_for.total_seconds() / 3600)
        if hours < 48:
            lifetime = ngettext("%(num)d hour", "%(num)d hours", hours)
        else:
            lifetime = ngettext("%(num)d day", "%(num)d days", round(hours / 24))
        subject = " ".join((str(subject_text) % values).split())
        body = render_template(
            "mail/password_link.txt",
            user=user,
            intro=str(intro) % values,
            link_url=link_url,
            lifetime=lifetime,
            welcome=kind == "walk_in_welcome",
            group=group,
            session=session,
            participant=participant,
            when=format_local(session.starts_at, group.timezone) if session else "",
            login_url=_url("auth.login"),
            forgot_url=_url("auth.forgot_password"),
        )
    return OutboundEmail(
        user_id=user.id,
        to_address=user.email,
        subject=subject[:300],
        body=body,
        kind=kind,
        status=EmailStatus.PENDING,
        created_at=now,
    )


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
    left: int = 0  # still waiting when the run stopped (its time budget ran out)


def claim_queued(db_session: Session, *, now: datetime) -> None:
    """Claim the messages this session queued for the `send_queued` that follows the commit,
    inside the change's own transaction: one UPDATE there instead of a transaction of its own
    after it (a sign-up rush pays for every round trip), none for the messages written
    claimed already (`claim_on_insert`). Should that sender never run, the claim's lease ends
    and the next `send-reminders` run sends them."""
    ids = db_session.info.get("queued_emails")
    run = db_session.info.pop(_CLAIMING, None)
    claimed = db_session.info.pop(_CLAIMED_ON_INSERT, [])
    if not ids:
        return
    if run is None:
        config = current_app.config
        run = _Run(now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=None)
    written_claimed = {message.id for message in claimed}
    rest = [i for i in ids if i not in written_claimed]
    if rest:
        claimed = claimed + _claim(db_session, run, rest, size=len(rest))
    db_session.info["claimed_emails"] = (run, sorted(claimed, key=lambda message: message.id))


def claim_on_insert(db_session: Session, *, now: datetime) -> None:
    """Messages this session queues from now on (those without a `dedupe_key`) are written
    claimed already, for the `claim_queued` and `send_queued` around the commit that follows:
    their INSERT is the claim, and the claim's UPDATE is not sent. For a request that
    commits with `commit_and_send` (a sign-up: many at once, each paying for every statement).
    Nobody else sees the rows before the commit, so no other sender can have them."""
    config = current_app.config
    db_session.info[_CLAIMING] = _Run(
        now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=None
    )


_CLAIMING = "studygroup.mail.claiming_run"
_CLAIMED_ON_INSERT = "studygroup.mail.claimed_on_insert"


class _Claimed(NamedTuple):
    """What sending a claimed message needs, as `_claim` returns it."""

    id: int
    to_address: str
    subject: str
    body: str
    created_at: datetime
    attempts: int
    qr_text: str | None

    @classmethod
    def of(cls, message: OutboundEmail) -> "_Claimed":
        return cls(
            message.id,
            message.to_address,
            message.subject,
            message.body,
            message.created_at,
            message.attempts,
            message.qr_text,
        )


def _claim_on_insert(message: OutboundEmail, run: "_Run") -> None:
    clock = run.clock()
    message.status = EmailStatus.SENDING
    message.lease_owner = run.owner
    message.lease_until = clock + run.lease
    message.claimed_at = clock
    message.attempts = 1


@sa.event.listens_for(Session, "after_rollback")
def _forget_claimed_on_insert(db_session: Session) -> None:
    # Rolled back, they were never written: nothing to send.
    db_session.info.pop(_CLAIMED_ON_INSERT, None)


def send_queued(db_session: Session, *, now: datetime) -> DeliveryReport:
    """Send the messages this session queued, after the caller's commit. Never raises."""
    ids = db_session.info.pop("queued_emails", [])
    claimed = db_session.info.pop("claimed_emails", None)
    if not ids:
        return DeliveryReport()
    return deliver(db_session, now=now, ids=ids, claimed=claimed)


class MailServerUnreachable(Exception):
    """Connecting, STARTTLS or logging in failed: no message can go now, so the run stops."""


class _Run:
    """One sender's claims: its lease owner name, its clock and its time budget.

    The clock is `now` plus the time the run has taken (monotonic), so leases move on while
    a run works, whatever `now` it was given.
    """

    def __init__(self, now: datetime, *, lease: timedelta, budget: float | None) -> None:
        self.owner = secrets.token_hex(16)
        self.started = now
        self.lease = lease
        self.budget = budget
        self._t0 = time.monotonic()
        self.renewed = self.elapsed()

    def elapsed(self) -> float:
        return time.monotonic() - self._t0

    def clock(self) -> datetime:
        return self.started + timedelta(seconds=self.elapsed())

    def out_of_time(self) -> bool:
        return self.budget is not None and self.elapsed() >= self.budget

    def renewal_due(self) -> bool:
        # A third of the lease: a message started just before renewal was due still has two
        # thirds of a lease to finish in.
        return self.elapsed() - self.renewed >= self.lease.total_seconds() / 3

    def ready(self):
        """What this run may claim: claimable, and not tried by this run already (a message
        that failed waits for the next run instead of being retried at once)."""
        return sa.and_(
            _claimable(self.clock()),
            sa.or_(OutboundEmail.claimed_at.is_(None), OutboundEmail.claimed_at < self.started),
        )


def deliver(
    db_session: Session,
    *,
    now: datetime,
    ids: list[int] | None = None,
    budget: float | None = None,
    claimed: tuple | None = None,
) -> DeliveryReport:
    """Claim and send every pending message (or those of `ids`), a batch at a time, until
    none is left or `budget` seconds have passed; what is left waits for the next run.
    `claimed`: a run and the batch it claimed already (`claim_queued`), sent first.

    A batch is claimed in one UPDATE under a lease that this run renews (a heartbeat) while
    it sends, so an overlapping run never takes a message this one is still sending, and the
    rows of a run that died become claimable when their lease ends. Each batch shares one
    SMTP connection. Commits after each claim and each result, so a crash or a failed send
    never loses a message; a failed one is retried by a later run, up to MAX_ATTEMPTS.
    """
    # A session of its own: its many commits leave the caller's loaded objects alone.
    with _OutboxSession(db_session.get_bind()) as own:
        return _deliver(own, now=now, ids=ids, budget=budget, claimed=claimed)


class _OutboxSession(Session):
    """The sender's own session (see `_commit_without_waiting`, listening on this class: once
    per process, not once per delivery)."""


@sa.event.listens_for(_OutboxSession, "after_begin")
def _commit_without_waiting(db_session, transaction, connection) -> None:
    """The outbox's bookkeeping (claims, leases, "sent") commits without waiting for the
    disk (PostgreSQL's asynchronous commit): each wait is milliseconds, several per sign-up,
    and the data revision's row lock makes every writer wait for them too. A database crash
    can lose the last fraction of a second of them: a message then goes out again when its
    lease ends, which delivery already allows (a run that dies after sending does the same)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")


def _deliver(db_session: Session, *, now, ids, budget, claimed) -> DeliveryReport:
    config = current_app.config
    if claimed is not None:
        run, ready_batch = claimed
    else:
        run = _Run(now, lease=timedelta(seconds=config["MAIL_LEASE_SECONDS"]), budget=budget)
        ready_batch = None
    report = DeliveryReport()
    waiting = None if ids is None else set(ids)
    while not run.out_of_time():
        if ready_batch is not None:
            batch, ready_batch = ready_batch, None
        else:
            batch = _claim_batch(db_session, run, ids, size=config["MAIL_BATCH_SIZE"])
        if not batch:
            break
        with _Connection(config) as connection:
            if not _send_batch(db_session, run, batch, connection, report):
                break
        if waiting is not None:
            waiting.difference_update(message.id for message in batch)
            if not waiting:
                # Every message asked for was claimed and tried by this run (sent, failed or
                # counted as left): no claim or count would find any of them again.
                return report
    # Left: what the next batch would have claimed, and what this run gave back untried.
    left = sa.select(sa.func.count()).select_from(OutboundEmail).where(run.ready())
    if ids is not None:
        left = left.where(OutboundEmail.id.in_(ids))
    report.left += db_session.scalar(left)
    db_session.commit()
    return report


def _claim_batch(db_session: Session, run: _Run, ids, *, size: int) -> list[sa.Row]:
    batch = _claim(db_session, run, ids, size=size)
    db_session.commit()
    run.renewed = run.elapsed()
    return batch


def _claim(db_session: Session, run: _Run, ids, *, size: int) -> list[sa.Row]:
    """Claim up to `size` ready messages (of `ids`, when given) for `run`; the caller commits."""
    clock = run.clock()
    ready = run.ready()
    pick = (
        sa.select(OutboundEmail.id)
        .where(ready)
        .order_by(OutboundEmail.id)
        .limit(size)
        .with_for_update(skip_locked=True)  # PostgreSQL: rows another run is claiming
    )
    if ids is not None:
        pick = pick.where(OutboundEmail.id.in_(ids))
    # Rows, not ORM objects: the run's many commits then have nothing to expire. The claim
    # returns what sending needs (`attempts` counts this try).
    claimed = db_session.execute(
        sa.update(OutboundEmail)
        # `ready` again: under READ COMMITTED a row claimed meanwhile is re-checked here.
        .where(OutboundEmail.id.in_(pick.scalar_subquery()), ready)
        .values(
            status=EmailStatus.SENDING,
            lease_owner=run.owner,
            lease_until=clock + run.lease,
            claimed_at=clock,
            attempts=OutboundEmail.attempts + 1,
        )
        .returning(
            OutboundEmail.id,
            OutboundEmail.to_address,
            OutboundEmail.subject,
            OutboundEmail.body,
            OutboundEmail.created_at,
            OutboundEmail.attempts,
            OutboundEmail.qr_text,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return sorted(claimed, key=lambda message: message.id)


def _send_batch(db_session, run: _Run, batch, connection, report: DeliveryReport) -> bool:
    """Send a claimed batch; False when the run must stop (out of time, server unreachable).
    Messages it did not try go back to the outbox as they were (those still ours). Every
    message of the batch counts once in the report: sent, failed or left (untried,
    or its lease lost: another run may have it, or it waits for the next run)."""
    held = {message.id for message in batch}
    for index, message in enumerate(batch):
        if run.out_of_time():
            _release(db_session, run, batch[index:])
            report.left += len(batch) - index
            return False
        if run.renewal_due():
            held = _renew(db_session, run, batch[index:])
        if message.id not in held:
            report.left += 1
            continue  # our lease ran out and another run may have it: never send it twice
        try:
            connection.send(message)
        except Exception as error:  # log it, keep the message, go on with the rest
            cause = error.__cause__ if isinstance(error, MailServerUnreachable) else error
            _finish(db_session, run, message, error=cause)
            report.failed += 1
            if isinstance(error, MailServerUnreachable):
                _release(db_session, run, batch[index + 1 :])
                report.left += len(batch) - index - 1
                return False
        else:
            _finish(db_session, run, message)
            report.sent += 1
    return True


def _mine(run: _Run, messages):
    return sa.and_(
        OutboundEmail.id.in_([m.id for m in messages]),
        OutboundEmail.lease_owner == run.owner,
        OutboundEmail.status == EmailStatus.SENDING,
    )


def _renew(db_session: Session, run: _Run, messages) -> set[int]:
    """Extend the lease on `messages` while it still holds; the ids still ours."""
    clock = run.clock()
    kept = db_session.scalars(
        sa.update(OutboundEmail)
        .where(_mine(run, messages), OutboundEmail.lease_until > clock)
        .values(lease_until=clock + run.lease)
        .returning(OutboundEmail.id)
        .execution_options(synchronize_session=False)
    ).all()
    db_session.commit()
    run.renewed = run.elapsed()
    return set(kept)


def _release(db_session: Session, run: _Run, messages) -> None:
    """Give untried messages back as they were before the claim (those still ours)."""
    if messages:
        db_session.execute(
            sa.update(OutboundEmail)
            .where(_mine(run, messages))
            .values(
                status=EmailStatus.PENDING,
                lease_owner=None,
                lease_until=None,
                attempts=OutboundEmail.attempts - 1,
            )
            .execution_options(synchronize_session=False)
        )
    db_session.commit()


def _finish(db_session: Session, run: _Run, message, *, error: BaseException | None = None):
    if error is None:
        # Most messages: a statement built once per process (every sign-up sends it).
        parameters = {"message_id": message.id, "owner": run.owner, "at": run.clock()}
        db_session.execute(_sent_statement(), parameters)
        db_session.commit()
        return
    values: dict = {
        "lease_owner": None,
        "lease_until": None,
        "status": EmailStatus.FAILED if message.attempts >= MAX_ATTEMPTS else EmailStatus.PENDING,
        "last_error": f"{type(error).__name__}: {error}"[:500],
    }
    current_app.logger.warning(
        "email not sent; will retry",
        extra={"fields": {"email_id": message.id, "error": values["last_error"]}},
    )
    db_session.execute(
        sa.update(OutboundEmail)
        .where(_mine(run, [message]))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db_session.commit()


@cache
def _sent_statement() -> sa.Update:
    """A message sent: as `_mine` (still ours), status SENT, the lease given back."""
    return (
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.id == sa.bindparam("message_id"),
            OutboundEmail.lease_owner == sa.bindparam("owner"),
            OutboundEmail.status == EmailStatus.SENDING,
        )
        .values(
            status=EmailStatus.SENT,
            sent_at=sa.bindparam("at"),
            lease_owner=None,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )


def _claimable(now: datetime):
    return sa.or_(
        OutboundEmail.status == EmailStatus.PENDING,
        sa.and_(OutboundEmail.status == EmailStatus.SENDING, OutboundEmail.lease_until < now),
    )


def _email_of(message: sa.Row) -> EmailMessage:
    config = current_app.config
    email = EmailMessage()
    email["Subject"] = message.subject
    email["From"] = formataddr((config["MAIL_SENDER_NAME"], config["MAIL_SENDER"]))
    email["To"] = message.to_address
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(domain=config["MAIL_SENDER"].split("@")[-1])
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    if message.qr_text:
        _add_qr_alternative(email, message.body, message.qr_text)
    return email


def _add_qr_alternative(email: EmailMessage, body: str, qr_text: str) -> None:
    """An HTML alternative of the text with the QR code of `qr_text` as an inline PNG (a cid
    image): email clients show no inline SVG. The text part stays first and says it all."""
    from markupsafe import escape

    from studygroup.participants.codes import qr_png

    cid = make_msgid(domain="qr.studygroup")
    html = (
        '<!doctype html><html><body><pre style="font-family:inherit;white-space:pre-wrap">'
        f"{escape(body)}</pre>"
        f'<p><img src="cid:{cid[1:-1]}" alt="{escape(qr_text)}" width="200" height="200"></p>'
        "</body></html>"
    )
    email.add_alternative(html, subtype="html")
    email.get_payload()[1].add_related(
        qr_png(qr_text),
        maintype="image",
        subtype="png",
        cid=cid,
        disposition="inline",
        filename="qr.png",
    )


class _Connection:
    """One SMTP connection with the app's MAIL_* settings, opened for the first message and
    reused for the next; after an error it is dropped and the next message opens a new one.
    With no MAIL_SERVER, messages are written to the log instead."""

    def __init__(self, config) -> None:
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "_Connection":
        return self

    def __exit__(self, *exc_info) -> None:
        if self.smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.smtp.quit()
            self._drop()

    def send(self, message: sa.Row) -> None:
        """Send a claimed message (a row of the outbox)."""
        if not self.config.get("MAIL_SERVER"):
            # The row's own text: building the MIME message only to read it back cost more
            # than the rest of the send.
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
        email = _email_of(message)
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused:
            try:  # the connection is fine; only this address was refused
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
            raise
        except Exception:
            self._drop()
            raise

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        timeout = config["MAIL_TIMEOUT"]
        try:
            if config["MAIL_USE_SSL"]:
                smtp = smtplib.SMTP_SSL(
                    config["MAIL_SERVER"],
                    config["MAIL_PORT"],
                    timeout=timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
            if config["MAIL_USE_TLS"]:
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (smtplib.SMTPException, OSError) as error:
            raise MailServerUnreachable(str(error)) from error
        return smtp

    def _drop(self) -> None:
        if self.smtp is not None:
            with contextlib.suppress(OSError):
                self.smtp.close()
        self.smtp = None
