"""Announcements: who an audience is, sending one (checks, rate limit, copies, emails), and
the copies each viewer may read.

The rules (also said on the form):

* Only the group's organizers write announcements. An announcement has a subject and a text
  in Japanese, in English, or both; each recipient gets their language's version, else the
  one that was written.
* Audiences: a session's participants (registered and waitlisted: both may come), its staff
  (confirmed places), both (each person once), or the group's active members.
* At most `GROUP_DAILY_LIMIT` announcements per group in 24 hours and one per author per
  `AUTHOR_INTERVAL`, counted under the group's row lock, so two clicks cannot both pass.
* Every recipient is recorded (AnnouncementRecipient): they see the copy on the page whether
  or not their email choice (`User.email_announcements`) let the email through.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from studygroup.announcements.models import Announcement, AnnouncementRecipient, Audience
from studygroup.auth.models import User
from studygroup.db import lock_row
from studygroup.groups.models import Group, MemberRole, Membership, MembershipStatus
from studygroup.groups.services import membership_of
from studygroup.i18n import format_datetime, locale_of
from studygroup.mail.kinds import MESSAGES
from studygroup.mail.models import EmailStatus, OutboundEmail
from studygroup.mail.services import queue_new_emails
from studygroup.paging import Page, paginate
from studygroup.participants.models import LIVE_PARTICIPANT_STATUSES, Participant
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, StudySession
from studygroup.signups.models import Assignment, AssignmentStatus
from studygroup.urls import external_url

SUBJECT_MAX = 200
BODY_MAX = 5000
GROUP_DAILY_LIMIT = 5
AUTHOR_INTERVAL = timedelta(minutes=1)
PER_PAGE = 20
# Up to this many emails go out at once after the commit; a larger announcement waits for
# the outbox's next run (`send-reminders`), so a request never spends minutes on SMTP.
SEND_AT_ONCE = 50

SESSION_AUDIENCES = (Audience.PARTICIPANTS, Audience.STAFF, Audience.SESSION)

AUDIENCE_LABELS = {
    Audience.PARTICIPANTS: _l("Participants"),
    Audience.STAFF: _l("Staff"),
    Audience.SESSION: _l("Participants and staff"),
    Audience.GROUP: _l("All members of the group"),
}


def _participant_ids(session: StudySession) -> sa.Select:
    return sa.select(Participant.user_id).where(
        Participant.session_id == session.id, Participant.status.in_(LIVE_PARTICIPANT_STATUSES)
    )


def _staff_ids(session: StudySession) -> sa.Select:
    return (
        sa.select(Assignment.user_id)
        .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
        .where(RoleSlot.session_id == session.id, Assignment.status == AssignmentStatus.CONFIRMED)
    )


def _member_ids(group: Group) -> sa.Select:
    return sa.select(Membership.user_id).where(
        Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE
    )


def _audience_ids(*, group: Group, session: StudySession | None, audience: Audience):
    if audience == Audience.GROUP:
        return _member_ids(group)
    if session is None:
        raise ValueError("a session audience needs a session")
    if audience == Audience.PARTICIPANTS:
        return _participant_ids(session)
    if audience == Audience.STAFF:
        return _staff_ids(session)
    return sa.union(_participant_ids(session), _staff_ids(session))


def recipients(
    db_session: Session, *, group: Group, session: StudySession | None, audience: Audience
) -> list[User]:
    """The people `audience` reaches, each once, ordered by id. One query.

    PARTICIPANTS: the session's registered and waitlisted participants (a waitlisted one may
    still get a seat, so they need to know too; cancelled ones are left out). STAFF: members
    with a confirmed place in the session (not the waitlist nor requests). SESSION: both.
    GROUP: the group's active members (`session` may be None).
    """
    ids = _audience_ids(group=group, session=session, audience=audience).subquery()
    return list(
        db_session.scalars(
            sa.select(User).where(User.id.in_(sa.select(ids.c[0]))).order_by(User.id)
        )
    )


def audience_counts(
    db_session: Session, *, group: Group, session: StudySession | None
) -> dict[Audience, int]:
    """How many people each audience offered on the form reaches: the session's three
    (participants, staff, both) for a session, the group's members otherwise. One query."""
    audiences = (Audience.GROUP,) if session is None else SESSION_AUDIENCES
    columns = [
        sa.select(sa.func.count())
        .select_from(_audience_ids(group=group, session=session, audience=a).subquery())
        .scalar_subquery()
        for a in audiences
    ]
    return dict(zip(audiences, db_session.execute(sa.select(*columns)).one(), strict=True))


@dataclass(frozen=True)
class Version:
    """What readers of one language get: the subject and text, and whether it is theirs or
    the other language's (only that one was written)."""

    language: str
    subject: str
    body: str
    fallback: bool


def version_for(announcement: Announcement, language: str) -> Version:
    """The subject and text a reader of `language` gets: theirs when it was written, else the
    other one."""
    own = _texts(announcement, language)
    if own[0] and own[1]:
        return Version(language, *own, fallback=False)
    other = "en" if language == "ja" else "ja"
    return Version(other, *_texts(announcement, other), fallback=True)


def _texts(announcement: Announcement, language: str) -> tuple[str, str]:
    if language == "ja":
        return announcement.subject_ja, announcement.body_ja
    return announcement.subject_en, announcement.body_en


def check_texts(*, subject_ja: str, body_ja: str, subject_en: str, body_en: str) -> dict:
    """The four texts trimmed, or RuleViolation naming the field: each language's subject and
    text go together, at least one language is written, and both fit their lengths."""
    texts = {
        "subject_ja": (subject_ja or "").strip(),
        "body_ja": (body_ja or "").strip(),
        "subject_en": (subject_en or "").strip(),
        "body_en": (body_en or "").strip(),
    }
    for name, limit in (
        ("subject_ja", SUBJECT_MAX),
        ("subject_en", SUBJECT_MAX),
        ("body_ja", BODY_MAX),
        ("body_en", BODY_MAX),
    ):
        if len(texts[name]) > limit:
            raise RuleViolation(_l("Use at most %(n)d characters.", n=limit), field=name)
    for language in ("ja", "en"):
        subject, body = texts[f"subject_{language}"], texts[f"body_{language}"]
        if subject and not body:
            raise RuleViolation(
                _l("Write the text that goes with this subject."), f"body_{language}"
            )
        if body and not subject:
            raise RuleViolation(_l("Give this text a subject."), f"subject_{language}")
    if not texts["subject_ja"] and not texts["subject_en"]:
        raise RuleViolation(
            _l("Write the subject and text in Japanese, in English, or in both."), "subject_ja"
        )
    return texts


def _check_organizer(db_session: Session, author: User, group: Group) -> None:
    membership = membership_of(db_session, author, group)
    if membership is None or not membership.is_organizer:
        raise RuleViolation(_l("Only the group's organizers can send announcements."))


def _check_rate(db_session: Session, *, author: User, group: Group, now: datetime) -> None:
    """The limits, read under the group's row lock taken by the caller. Their messages
    belong to no one field (the page shows them above the form, the text kept)."""
    since = now - timedelta(days=1)
    recent = list(
        db_session.scalars(
            sa.select(Announcement.created_at)
            .where(Announcement.group_id == group.id, Announcement.created_at > since)
            .order_by(Announcement.created_at)
        )
    )
    if len(recent) >= GROUP_DAILY_LIMIT:
        # The window frees a place when its oldest announcement is a day old.
        again = recent[len(recent) - GROUP_DAILY_LIMIT] + timedelta(days=1)
        raise RuleViolation(
            _l(
                "A group can send at most %(n)d announcements in 24 hours. You can send "
                "this one from %(when)s.",
                n=GROUP_DAILY_LIMIT,
                when=format_datetime(again, group.timezone),
            )
        )
    last = db_session.scalar(
        sa.select(sa.func.max(Announcement.created_at)).where(
            Announcement.author_id == author.id, Announcement.created_at > now - AUTHOR_INTERVAL
        )
    )
    if last is not None:
        raise RuleViolation(
            _l(
                "You sent an announcement a moment ago. You can send the next one from %(when)s.",
                when=format_datetime(last + AUTHOR_INTERVAL, group.timezone),
            )
        )


def send_announcement(
    db_session: Session,
    *,
    author: User,
    group: Group,
    session: StudySession | None,
    audience: Audience,
    subject_ja: str,
    body_ja: str,
    subject_en: str,
    body_en: str,
    now: datetime,
) -> Announcement:
    """Write the announcement, record every recipient and queue one email for each whose
    email choice lets it through, in their language. Raises RuleViolation (with the field
    it belongs next to, when there is one) when a rule refuses it.

    Locks the group's row before counting the rate limits, so two requests at once cannot
    both pass them. The recipients are read in one query and the copies and emails written
    in one statement each, whatever their number. The caller commits; the ids of the emails
    to send at once are in `db_session.info["queued_emails"]` (none past SEND_AT_ONCE).
    """
    _check_organizer(db_session, author, group)
    texts = check_texts(
        subject_ja=subject_ja, body_ja=body_ja, subject_en=subject_en, body_en=body_en
    )
    if audience == Audience.GROUP:
        session = None
    elif session is None or session.group_id != group.id:
        raise RuleViolation(_l("Choose who gets the announcement."), field="audience")
    lock_row(db_session, Group, group.id)
    _check_rate(db_session, author=author, group=group, now=now)
    people = recipients(db_session, group=group, session=session, audience=audience)
    if not people:
        raise RuleViolation(_l("Nobody is in this audience yet."), field="audience")
    announcement = Announcement(
        group_id=group.id,
        session_id=session.id if session is not None else None,
        author_id=author.id,
        audience=audience,
        recipient_count=len(people),
        created_at=now,
        **texts,
    )
    db_session.add(announcement)
    db_session.flush()
    db_session.execute(
        sa.insert(AnnouncementRecipient),
        [{"announcement_id": announcement.id, "user_id": p.id} for p in people],
    )
    messages = [
        compose_announcement_email(
            announcement, person, author=author, group=group, session=session, now=now
        )
        for person in people
        if person.email_announcements
    ]

    ids = queue_new_emails(db_session, messages)
    if len(ids) <= SEND_AT_ONCE:
        db_session.info.setdefault("queued_emails", []).extend(ids)
    return announcement


REASONS = {
    Audience.PARTICIPANTS: _l(
        "studygroup sends this because you registered to attend %(session)s of %(group)s."
    ),
    Audience.STAFF: _l(
        "studygroup sends this because you have a place on the team of %(session)s of %(group)s."
    ),
    Audience.SESSION: _l(
        "studygroup sends this because you attend or help at %(session)s of %(group)s."
    ),
    Audience.GROUP: _l("studygroup sends this because you are a member of %(group)s."),
}


def render_announcement(
    announcement: Announcement,
    reader: User,
    *,
    author: User,
    group: Group,
    session: StudySession | None,
) -> tuple[str, str]:
    """The email's subject and body as `reader` gets it, in their language (the frame) with
    their language's version of the text. For the email and the preview alike."""
    subject_text, intro, _setting = MESSAGES["announcement"]
    language = locale_of(reader)
    version = version_for(announcement, language)
    with force_locale(language):
        values = {
            "group": group.name,
            "session": session.title if session else "",
            "name": author.display_name,
            "subject": version.subject,
        }
        # One line: a subject with a line break must never break the mail header.
        subject = " ".join((str(subject_text) % values).split())
        body = render_template(
            "mail/announcement.txt",
            user=reader,
            intro=str(intro) % values,
            version=version,
            group=group,
            session=session,
            when=format_datetime(session.starts_at, group.timezone) if session else "",
            page_url=(
                external_url("sessions.show", slug=group.slug, session_id=session.id)
                if session
                else external_url("announcements.group_list", slug=group.slug)
            ),
            reason=str(REASONS[announcement.audience]) % values,
            settings_url=external_url("auth.profile"),
        )
    return subject[:300], body


def compose_announcement_email(
    announcement: Announcement,
    person: User,
    *,
    author: User,
    group: Group,
    session: StudySession | None,
    now: datetime,
) -> OutboundEmail:
    """The email of `announcement` for `person` (not yet in the outbox), written once per
    announcement and person (its dedupe key)."""
    subject, body = render_announcement(
        announcement, person, author=author, group=group, session=session
    )
    return OutboundEmail(
        user_id=person.id,
        to_address=person.email,
        subject=subject,
        body=body,
        kind="announcement",
        dedupe_key=f"announcement:{announcement.id}:{person.id}",
        status=EmailStatus.PENDING,
        created_at=now,
    )


def _is_organizer(db_session: Session, viewer: User | None, group_id: int) -> bool:
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    return (
        db_session.scalar(
            sa.select(Membership.id).where(
                Membership.user_id == viewer.id,
                Membership.group_id == group_id,
                Membership.status == MembershipStatus.ACTIVE,
                Membership.role == MemberRole.ORGANIZER,
            )
        )
        is not None
    )


def _visible_to(query: sa.Select, viewer: User | None, organizer: bool) -> sa.Select | None:
    if organizer:
        return query
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    return _sent_to(query, viewer.id)


def _sent_to(query: sa.Select, viewer_id) -> sa.Select:
    return query.where(
        sa.exists().where(
            AnnouncementRecipient.announcement_id == Announcement.id,
            AnnouncementRecipient.user_id == viewer_id,
        )
    )


def _newest_first(query: sa.Select) -> sa.Select:
    return query.options(joinedload(Announcement.author)).order_by(
        Announcement.created_at.desc(), Announcement.id.desc()
    )


def announcements_for(
    db_session: Session,
    *,
    session: StudySession,
    viewer: User | None,
    organizer: bool | None = None,
) -> list[Announcement]:
    """The session's announcements sent to `viewer` (organizers of its group see them all),
    newest first, with their authors. One query (two when `organizer` is not given)."""
    if organizer is None:
        organizer = _is_organizer(db_session, viewer, session.group_id)
    query = session_announcements_seen_by(session, viewer, organizer)
    if query is None:
        return []
    return list(db_session.scalars(_newest_first(query)))


def session_announcements_seen_by(
    session: StudySession, viewer: User | None, organizer: bool
) -> sa.Select | None:
    """SQL: the session's announcements `viewer` may read (None: none at all), for
    `announcements_for` and for pages that first ask whether there are any."""
    return _visible_to(
        sa.select(Announcement).where(Announcement.session_id == session.id), viewer, organizer
    )


def session_announcements_seen_by_id(session_id, viewer_id, organizer: bool) -> sa.Select | None:
    """`session_announcements_seen_by` with ids (values or bind parameters, for a statement
    built once): `viewer_id` None is a visitor not logged in."""
    query = sa.select(Announcement).where(Announcement.session_id == session_id)
    if organizer:
        return query
    return None if viewer_id is None else _sent_to(query, viewer_id)


def _group_own(group: Group, viewer: User | None, organizer: bool) -> sa.Select | None:
    """The group's own announcements (audience GROUP) `viewer` may read (None: none)."""
    return _visible_to(
        sa.select(Announcement).where(
            Announcement.group_id == group.id, Announcement.audience == Audience.GROUP
        ),
        viewer,
        organizer,
    )


def group_announcements(
    db_session: Session, *, group: Group, viewer: User | None, organizer: bool, page: int
) -> Page[Announcement]:
    """The group's own announcements (audience GROUP) sent to `viewer`, or all of them for
    organizers, newest first, PER_PAGE a page. Two queries."""
    query = _group_own(group, viewer, organizer)
    if query is None:
        return Page([], 1, PER_PAGE, 0)
    return paginate(db_session, _newest_first(query), page=page, size=PER_PAGE)


def latest_group_announcements(
    db_session: Session, *, group: Group, viewer: User | None, organizer: bool
) -> tuple[list[Announcement], bool]:
    """The group page's list: the newest PER_PAGE group announcements for `viewer`, and
    whether there are more. One query."""
    if not organizer and (viewer is None or not getattr(viewer, "is_authenticated", False)):
        return [], False
    parameters = {"group_id": group.id, "limit": PER_PAGE + 1}
    if not organizer:
        parameters["viewer_id"] = viewer.id
    rows = list(db_session.scalars(_latest_of_group(organizer), parameters))
    return rows[:PER_PAGE], len(rows) > PER_PAGE


@cache
def _latest_of_group(organizer: bool) -> sa.Select:
    """`_group_own`, newest first, built once per process (every cold group page runs it)
    with the group, the viewer and the limit as parameters."""
    query = sa.select(Announcement).where(
        Announcement.group_id == sa.bindparam("group_id"), Announcement.audience == Audience.GROUP
    )
    if not organizer:
        query = query.where(
            sa.exists().where(
                AnnouncementRecipient.announcement_id == Announcement.id,
                AnnouncementRecipient.user_id == sa.bindparam("viewer_id"),
            )
        )
    return _newest_first(query).limit(sa.bindparam("limit", type_=sa.Integer))
