"""Email through an outbox: compose and queue in the change's transaction, send after commit.

`queue_email` writes the message (in the member's language, from the catalogue in `kinds`)
as a row; `mail.delivery` claims and sends the rows (`deliver`, `send_queued`). With no
MAIL_SERVER configured (development) messages are written to the log instead.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import render_template
from flask_babel import force_locale, get_locale, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.db import insert_ignoring
from studygroup.i18n import format_datetime as format_local
from studygroup.i18n import format_time_range, locale_of, role_label
from studygroup.mail.delivery import add_to_outbox
from studygroup.mail.kinds import MESSAGES, SHARES_ADDRESS, TO_ORGANIZERS, WITH_QR
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.urls import external_url


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
        add_to_outbox(db_session, message)
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
    return ("、" if str(get_locale()) == "ja" else ", ").join(items)


def _url(endpoint, **values):
    return external_url(endpoint, **values)


def _session_url(group, session):
    return _url("sessions.show", slug=group.slug, session_id=session.id)


def _link_url(link: Link) -> str:
    url = _url(link.endpoint, **link.values)
    return f"{url}#{link.anchor}" if link.anchor else url
