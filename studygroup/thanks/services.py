"""Thank-you notes: who may thank whom, sending one, the pages' lists, reports and removal.

The rules (also said on the form):

* A note belongs to a session that has started and was held (scheduled, not cancelled, not
  marked not held). Its sender and its recipient both held a place there that counts as
  worked (`counts_as_worked`, the co-working definition), and they are not the same person.
* The recipient lets co-workers thank them (`User.accept_thanks`, on by default).
* One note per sender, recipient and session; at most `DAILY_LIMIT` notes a sender writes in
  24 hours (counted under a lock on the sender's row, so two tabs cannot pass it together).
* The recipient sees the sender's name whatever the sender's appear-by-name choice: a note is
  personal, and the form says so. The sender picks among the co-workers whose names they
  may see in that group (`visible_names`), so no one who chose not to appear by name is
  identified by a "say thanks" link.
* Organizers of the session's group see only the notes a recipient reported to them, and may
  remove one: it disappears for the recipient and stays, with who removed it and when.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.coworking.visibility import visible_names
from studygroup.db import lock_row
from studygroup.groups.models import Group
from studygroup.groups.services import membership_of, tell_organizers
from studygroup.mail.services import Link, queue_email
from studygroup.names import name_order
from studygroup.paging import Page, paginate
from studygroup.rules import RuleViolation
from studygroup.sessions.models import RoleSlot, SessionStatus, StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.records import counts_as_worked
from studygroup.thanks.models import ThanksNote

MAX_LENGTH = 500
DAILY_LIMIT = 20
NOTES_PER_PAGE = 20


@dataclass
class Thankable:
    """A co-worker of the session as the sender may see them, and what the sender may do."""

    user: User
    name: str
    accepts: bool  # they let co-workers send notes
    sent: bool  # the sender thanked them for this session already


def is_over(session: StudySession, now: datetime) -> bool:
    """The session has started and was held: notes may be written about it."""
    return session.status == SessionStatus.SCHEDULED and session.starts_at <= now


def worked_in(db_session: Session, session: StudySession, *, now: datetime) -> set[int]:
    """Ids of the members whose place in `session` counts as worked; none before it starts
    or when it was not held. One query."""
    if not is_over(session, now):
        return set()
    return set(
        db_session.scalars(
            sa.select(Assignment.user_id)
            .join(RoleSlot, RoleSlot.id == Assignment.slot_id)
            .join(StudySession, StudySession.id == RoleSlot.session_id)
            .where(RoleSlot.session_id == session.id, counts_as_worked(Assignment, StudySession))
            .distinct()
        )
    )


def thankable(
    db_session: Session, sender: User, session: StudySession, *, now: datetime
) -> list[Thankable]:
    """The people `sender` worked `session` with, by name as the sender may see them, with
    whether each takes notes and whether the sender thanked them already. Empty when the
    sender did not work it. Three queries at most (who worked, the people, notes sent), one
    more when someone chose not to appear by name."""
    worked = worked_in(db_session, session, now=now)
    if sender.id not in worked or len(worked) < 2:
        return []
    people = db_session.scalars(sa.select(User).where(User.id.in_(worked - {sender.id}))).all()
    sent = set(
        db_session.scalars(
            sa.select(ThanksNote.recipient_id).where(
                ThanksNote.session_id == session.id, ThanksNote.sender_id == sender.id
            )
        )
    )
    return thankable_among(db_session, sender, session, people, thanked=sent)


def thankable_among(
    db_session: Session, sender: User, session: StudySession, people, *, thanked: set[int]
) -> list[Thankable]:
    """`thankable`'s list from what a page read already: the people other than `sender` who
    worked `session` (`sender` among those who did) and the ids `sender` thanked there. No
    query unless someone chose not to appear by name."""
    names = visible_names(db_session, sender, people, group_id=session.group_id)
    return [
        Thankable(person, names[person.id], person.accept_thanks, person.id in thanked)
        for person in sorted(people, key=name_order)
        if names[person.id] is not None
    ]


def thanks_sent_by(sender_id: int, session_id: int, recipient_id) -> sa.Exists:
    """SQL: `sender` thanked the recipient for the session (a column of a page's statement)."""
    return sa.exists().where(
        ThanksNote.session_id == session_id,
        ThanksNote.sender_id == sender_id,
        ThanksNote.recipient_id == recipient_id,
    )


def reported_in_session_exists(session_id: int) -> sa.Exists:
    """SQL: some note about the session was reported (`reported_in_session` has rows)."""
    return sa.exists().where(
        ThanksNote.session_id == session_id, ThanksNote.reported_at.is_not(None)
    )


def check_may_thank(
    db_session: Session, *, sender: User, recipient: User, session: StudySession, now: datetime
) -> Thankable:
    """The recipient as the sender may thank them for `session`, or RuleViolation: both
    worked it, the recipient is named to the sender (`field="recipient"` otherwise: the page
    says nothing of them) and takes notes. The limits are `send_thanks`'s."""
    person = next(
        (t for t in thankable(db_session, sender, session, now=now) if t.user.id == recipient.id),
        None,
    )
    if person is None:
        raise RuleViolation(
            _l("You can thank the people you worked a session with, after it."), field="recipient"
        )
    if not person.accepts:
        raise RuleViolation(
            _l("%(name)s does not receive thank-you notes.", name=recipient.display_name)
        )
    return person


def send_thanks(
    db_session: Session,
    *,
    sender: User,
    recipient: User,
    session: StudySession,
    body: str,
    now: datetime,
) -> ThanksNote:
    """Write the note and queue the recipient's email (their email choice applies). Raises
    RuleViolation when a rule refuses it; the limits' messages belong next to the note's
    text (`field="body"`). Locks the sender's row, so the daily limit holds for two requests
    at once; the unique constraint catches a second note for the same session (the caller
    commits and handles the clash as a duplicate)."""
    check_may_thank(db_session, sender=sender, recipient=recipient, session=session, now=now)
    body = body.strip()
    if not body:
        raise RuleViolation(_l("Please fill this in."), field="body")
    if len(body) > MAX_LENGTH:
        raise RuleViolation(_l("Use at most %(n)d characters.", n=MAX_LENGTH), field="body")
    lock_row(db_session, User, sender.id)
    if already_sent(db_session, sender=sender, recipient=recipient, session=session):
        raise RuleViolation(
            _l("You have thanked %(name)s for this session already.", name=recipient.display_name)
        )
    if sent_between(db_session, sender, now - timedelta(days=1), now) >= DAILY_LIMIT:
        raise RuleViolation(
            _l(
                "You can send at most %(n)d thank-you notes a day: send this one tomorrow.",
                n=DAILY_LIMIT,
            ),
            field="body",
        )
    note = ThanksNote(
        session_id=session.id,
        sender_id=sender.id,
        recipient_id=recipient.id,
        body=body,
        created_at=now,
    )
    db_session.add(note)
    db_session.flush()
    queue_email(
        db_session,
        user=recipient,
        kind="thanks_received",
        now=now,
        session=session,
        about=sender,
        note=body,
        link=Link("thanks.index"),
    )
    return note


def already_sent(db_session: Session, *, sender: User, recipient: User, session) -> bool:
    return (
        db_session.scalar(
            sa.select(ThanksNote.id).where(
                ThanksNote.session_id == session.id,
                ThanksNote.sender_id == sender.id,
                ThanksNote.recipient_id == recipient.id,
            )
        )
        is not None
    )


def sent_between(db_session: Session, sender: User, since: datetime, until: datetime) -> int:
    """How many notes `sender` wrote in that time (removed ones too: they were sent)."""
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(ThanksNote)
        .where(
            ThanksNote.sender_id == sender.id,
            ThanksNote.created_at > since,
            ThanksNote.created_at <= until,
        )
    )


def _listed(query: sa.Select) -> sa.Select:
    """Newest first, with everything a row of the list shows: one query per page."""
    return query.options(
        joinedload(ThanksNote.sender),
        joinedload(ThanksNote.recipient),
        joinedload(ThanksNote.session).joinedload(StudySession.group),
    ).order_by(ThanksNote.created_at.desc(), ThanksNote.id.desc())


def received_notes(db_session: Session, member: User, *, page: int) -> Page[ThanksNote]:
    """The notes `member` received and no organizer removed, newest first; two queries."""
    query = sa.select(ThanksNote).where(
        ThanksNote.recipient_id == member.id, ThanksNote.removed_at.is_(None)
    )
    return paginate(db_session, _listed(query), page=page, size=NOTES_PER_PAGE)


def sent_notes(db_session: Session, member: User, *, page: int) -> Page[ThanksNote]:
    """The notes `member` sent, removed ones too (marked), newest first; two queries."""
    query = sa.select(ThanksNote).where(ThanksNote.sender_id == member.id)
    return paginate(db_session, _listed(query), page=page, size=NOTES_PER_PAGE)


def organizes(db_session: Session, user: User, group: Group) -> bool:
    """`user` is an active organizer of `group` (the group's own membership rule)."""
    membership = membership_of(db_session, user, group)
    return membership is not None and membership.is_organizer


def report_note(db_session: Session, note: ThanksNote, *, by: User, now: datetime) -> None:
    """The recipient asks the organizers of the session's group to look at the note; they
    are told by email (their choice of emails about requests applies), without its words.
    Only the recipient may; reporting twice keeps the first time and tells no one again."""
    if note.recipient_id != by.id or note.is_removed:
        raise RuleViolation(_l("Only the person a note was sent to can report it."))
    if note.reported_at is not None:
        return
    note.reported_at = now
    session = note.session
    tell_organizers(
        db_session,
        session.group,
        kind="thanks_reported",
        about=by,
        session=session,
        answer_at=Link(
            "sessions.show",
            {"slug": session.group.slug, "session_id": session.id},
            "reported-notes",
        ),
        now=now,
    )


def remove_note(db_session: Session, note: ThanksNote, *, by: User, now: datetime) -> None:
    """An organizer of the session's group hides a note from its recipient. Soft: the note
    stays with who removed it and when. Removing twice keeps the first removal."""
    if not organizes(db_session, by, note.session.group):
        raise RuleViolation(_l("Only the organizers of the session's group can remove a note."))
    if note.removed_at is None:
        note.removed_at = now
        note.removed_by_id = by.id


def reported_in_session(db_session: Session, session: StudySession) -> list[ThanksNote]:
    """The notes about `session` a recipient reported, for its organizers: those still shown
    first, then those removed (with who and when). One query."""
    return list(
        db_session.scalars(
            sa.select(ThanksNote)
            .where(ThanksNote.session_id == session.id, ThanksNote.reported_at.is_not(None))
            .options(
                joinedload(ThanksNote.sender),
                joinedload(ThanksNote.recipient),
                joinedload(ThanksNote.removed_by),
            )
            .order_by(ThanksNote.removed_at.is_not(None), ThanksNote.reported_at, ThanksNote.id)
        )
    )
