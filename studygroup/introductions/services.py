"""Introductions: who may introduce whom, asking for one, making one, answering it (what each
member then sees: `studygroup.introductions.seen`).

The rules (also said on the pages):

* Introducer I may introduce A and B (`check_may_introduce`) when A is not B, neither is I, both
  let people introduce them (`User.accept_introductions`), and for each of A and B: I
  co-worked with them and sees them by name (`coworkers_of`), or I organize a group where
  both are members now. Someone who left a group is still a co-worker (history stays) but no
  longer "in a group I organize".
* Each of the two answers privately. The introducer sees only "waiting" or "both accepted";
  one side never learns that the other declined. Nothing of one side reaches the other (not
  even the name, nor the note, which names them) until both accepted: then each gets the
  other's name, the note and the other's email address, by email and on /introductions.
* A pair is introduced once, ever (a unique constraint). A second introducer of a pair whose
  introduction has not completed sees theirs made and waiting (`UnsentIntroduction`, never
  sent), so no one learns of a decline; "introduced already" only to its own introducer and
  once it completed.
* Requester R may ask S to introduce R to T (`check_may_ask`) when S may introduce R and T and R
  can already see why: T is among S's co-workers on S's page as R sees it, or S organizes a
  group where R and T are both members. Otherwise the request is refused as if T were
  unknown, so that no members-only group's history leaks through a guessed link. S may make
  the introduction or let the request pass; R is told neither. T's "don't introduce me" is
  never a refusal (it would tell T's choice): the request passes at once, unsent.
* Limits: `DAILY_LIMIT` introductions an introducer makes and `REQUEST_DAILY_LIMIT`
  requests a member sends in 24 hours, counted under a lock on their row.
* An introduction never names a group: emails and pages show the introducer, the two
  people and the note.
"""

from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from studygroup.auth.models import User
from studygroup.coworking.services import coworkers_of
from studygroup.coworking.visibility import may_view_coworkers, organized_by
from studygroup.db import lock_row
from studygroup.groups.models import Membership, MembershipStatus
from studygroup.introductions.models import (
    Answer,
    Introduction,
    IntroductionRequest,
    UnsentIntroduction,
)
from studygroup.mail.services import Link, queue_email
from studygroup.names import name_order
from studygroup.rules import RuleViolation

DAILY_LIMIT = 10
REQUEST_DAILY_LIMIT = 10
NOTE_LENGTH = 500


# --- who may introduce whom -------------------------------------------------------------------


def named_coworkers(db_session: Session, member: User, *, now: datetime) -> dict[int, str]:
    """The co-workers `member` sees by name on their own page: id -> name (one query)."""
    return {
        c.user_id: c.name
        for c in coworkers_of(db_session, member, viewer=member, now=now)
        if c.name is not None
    }


def _organizes_both(db_session: Session, organizer: User, first_id: int, second_id: int) -> bool:
    """`organizer` organizes a group where both are members now (one query)."""
    return (
        db_session.scalar(
            sa.select(Membership.group_id)
            .where(
                Membership.user_id.in_((first_id, second_id)),
                Membership.status == MembershipStatus.ACTIVE,
                Membership.group_id.in_(organized_by(organizer)),
            )
            .group_by(Membership.group_id)
            .having(sa.func.count(sa.distinct(Membership.user_id)) == 2)
            .limit(1)
        )
        is not None
    )


def _knows_both(
    db_session: Session,
    introducer: User,
    first_id: int,
    second_id: int,
    *,
    now: datetime,
    coworkers: dict[int, str] | None = None,
) -> bool:
    """`introducer` sees both by name among their co-workers, or organizes a group where both
    are members now (one or two queries)."""
    if coworkers is None:
        coworkers = named_coworkers(db_session, introducer, now=now)
    if first_id in coworkers and second_id in coworkers:
        return True
    return _organizes_both(db_session, introducer, first_id, second_id)


def check_may_introduce(
    db_session: Session,
    introducer: User,
    first: User,
    second: User,
    *,
    now: datetime,
    coworkers: dict[int, str] | None = None,
) -> None:
    """Raise RuleViolation unless `introducer` may introduce `first` and `second` (the
    module's rule). Whether they know someone is checked before that person's choice, so a
    refusal never tells the introducer the choice of someone they do not know. At most two
    queries; `coworkers` (`named_coworkers`) saves one when the caller has it."""
    if first.id == second.id:
        raise RuleViolation(_l("Choose two different people."), field="second")
    if introducer.id in (first.id, second.id):
        raise RuleViolation(
            _l("You cannot introduce yourself: ask someone for an introduction instead."),
            field="second",
        )
    if not _knows_both(db_session, introducer, first.id, second.id, now=now, coworkers=coworkers):
        raise RuleViolation(
            _l("You can introduce people you worked with, or two members of a group you organize."),
            field="second",
        )
    for person in (first, second):
        if not person.accept_introductions:
            raise RuleViolation(
                _l("%(name)s does not take introductions.", name=person.display_name),
                field="second",
            )


def introducible(
    db_session: Session, introducer: User, *, now: datetime
) -> tuple[list[User], dict[int, str]]:
    """Everyone `introducer` may pick for an introduction, by name: co-workers they see by
    name and members of groups they organize, who take introductions. Whether a given pair
    may be introduced is `check_may_introduce`'s (two co-workers of different circles may;
    a co-worker and a member of one's group only when both are in it). Two queries; also
    returns `named_coworkers`, for `make_introduction` to reuse."""
    coworkers = named_coworkers(db_session, introducer, now=now)
    in_my_groups = sa.select(Membership.user_id).where(
        Membership.group_id.in_(organized_by(introducer)),
        Membership.status == MembershipStatus.ACTIVE,
    )
    people = db_session.scalars(
        sa.select(User).where(
            sa.or_(User.id.in_(list(coworkers)), User.id.in_(in_my_groups)),
            User.id != introducer.id,
            User.accept_introductions.is_(True),
        )
    ).all()
    return sorted(people, key=name_order), coworkers


def check_may_ask(
    db_session: Session, requester: User, via: User, target: User, *, now: datetime
) -> None:
    """Raise RuleViolation unless `requester` may ask `via` to introduce them to `target`
    (the module's rule). `field="target"`: the requester may not know of the tie at all; the
    page then says nothing of whether these people exist. Three to five queries."""
    if len({requester.id, via.id, target.id}) < 3:
        raise RuleViolation(_l("Choose someone else to ask."), field="target")
    # The requester must see the tie for themselves: on via's page, or in a group of via's.
    seen = False
    if may_view_coworkers(db_session, requester, via):
        shown = coworkers_of(db_session, via, viewer=requester, now=now)
        seen = any(c.user_id == target.id and c.name is not None for c in shown)
    if not seen:
        seen = _organizes_both(db_session, via, requester.id, target.id)
    if not seen:
        raise RuleViolation(_l("This introduction cannot be asked for."), field="target")
    if not requester.accept_introductions:
        raise RuleViolation(
            _l(
                "You chose not to be introduced. Tick “People I worked with can introduce "
                "me to others” on your co-workers page first."
            )
        )
    # Whether via knows both, never the target's choice: a target who chose "don't
    # introduce me" is asked for like anyone, and the request passes silently
    # (`ask_for_introduction`), so no one learns that choice by asking.
    if not _knows_both(db_session, via, requester.id, target.id, now=now):
        raise RuleViolation(_l("%(name)s cannot introduce you.", name=via.display_name))


# --- making and answering ----------------------------------------------------------------------


def _in_order(first: User, second: User) -> tuple[User, User]:
    return (first, second) if first.id < second.id else (second, first)


def pair_introduced(db_session: Session, first_id: int, second_id: int) -> Introduction | None:
    low, high = sorted((first_id, second_id))
    return db_session.scalar(
        sa.select(Introduction).where(Introduction.first_id == low, Introduction.second_id == high)
    )


def _clean_note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise RuleViolation(_l("Please fill this in."), field="note")
    if len(note) > NOTE_LENGTH:
        raise RuleViolation(_l("Use at most %(n)d characters.", n=NOTE_LENGTH), field="note")
    return note


def made_between(db_session: Session, introducer: User, since: datetime, until: datetime) -> int:
    """Introductions made in the period, unsent ones too (they look made to the introducer)."""

    def count(model) -> sa.ScalarSelect:
        return (
            sa.select(sa.func.count())
            .where(
                model.introducer_id == introducer.id,
                model.created_at > since,
                model.created_at <= until,
            )
            .scalar_subquery()
        )

    return db_session.scalar(sa.select(count(Introduction) + count(UnsentIntroduction)))


def make_introduction(
    db_session: Session,
    *,
    introducer: User,
    first: User,
    second: User,
    note: str,
    now: datetime,
    coworkers: dict[int, str] | None = None,
) -> Introduction | UnsentIntroduction:
    """Introduce `first` and `second`, and tell both (email by their choice; the notice on
    /introductions always). Raises RuleViolation when a rule refuses it. Locks the
    introducer's row, so the daily limit holds for two requests at once; the pair's unique
    constraint catches two introducers at once (the caller commits and handles the clash).
    Open requests to the introducer for this pair count as answered.

    A pair someone else introduced that has not completed gets an UnsentIntroduction: the
    introducer sees it waiting, nothing is sent, so no one learns whether a side declined.
    `coworkers` (`named_coworkers`) saves a query when the caller has it."""
    check_may_introduce(db_session, introducer, first, second, now=now, coworkers=coworkers)
    note = _clean_note(note, required=True)
    lock_row(db_session, User, introducer.id)
    if made_between(db_session, introducer, now - timedelta(days=1), now) >= DAILY_LIMIT:
        raise RuleViolation(
            _l(
                "You can make at most %(n)d introductions a day: make this one tomorrow.",
                n=DAILY_LIMIT,
            ),
            field="note",
        )
    low, high = _in_order(first, second)
    introduced_already = RuleViolation(
        _l(
            "%(first)s and %(second)s have been introduced already.",
            first=first.display_name,
            second=second.display_name,
        ),
        field="second",
    )
    existing = pair_introduced(db_session, low.id, high.id)
    if existing is not None:
        # The introducer's own, or one that completed: nothing private in saying so.
        if existing.introducer_id == introducer.id or existing.is_accepted:
            raise introduced_already
        unsent = db_session.scalar(
            sa.select(UnsentIntroduction.id).where(
                UnsentIntroduction.introducer_id == introducer.id,
                UnsentIntroduction.first_id == low.id,
                UnsentIntroduction.second_id == high.id,
            )
        )
        if unsent is not None:
            raise introduced_already
        # Someone else's, waiting or declined: which one stays private, so it looks made.
        introduction = UnsentIntroduction(
            introducer_id=introducer.id,
            first_id=low.id,
            second_id=high.id,
            note=note,
            created_at=now,
        )
        db_session.add(introduction)
        _answer_requests(db_session, introducer, low, high, existing.id)
        return introduction
    introduction = Introduction(
        introducer_id=introducer.id, first_id=low.id, second_id=high.id, note=note, created_at=now
    )
    db_session.add(introduction)
    db_session.flush()
    _answer_requests(db_session, introducer, low, high, introduction.id)
    for person in (low, high):
        queue_email(
            db_session,
            user=person,
            kind="introduction_made",
            now=now,
            about=introducer,
            answer_at=Link("introductions.show", {"introduction_id": introduction.id}),
        )
    return introduction


def _answer_requests(
    db_session: Session, introducer: User, low: User, high: User, introduction_id: int
) -> None:
    """Open requests to `introducer` for this pair count as answered by this introduction."""
    db_session.execute(
        sa.update(IntroductionRequest)
        .where(
            IntroductionRequest.via_id == introducer.id,
            sa.or_(
                sa.and_(
                    IntroductionRequest.requester_id == low.id,
                    IntroductionRequest.target_id == high.id,
                ),
                sa.and_(
                    IntroductionRequest.requester_id == high.id,
                    IntroductionRequest.target_id == low.id,
                ),
            ),
            IntroductionRequest.introduction_id.is_(None),
            IntroductionRequest.passed_at.is_(None),
        )
        .values(introduction_id=introduction_id)
        .execution_options(synchronize_session=False)
    )


class Answered(NamedTuple):
    answer: Answer  # the one stored: an earlier one when `again`
    again: bool  # they had answered already; nothing changed


def answer_introduction(
    db_session: Session, introduction: Introduction, *, member: User, accept: bool, now: datetime
) -> Answered:
    """`member`'s private answer. The second acceptance completes the introduction and
    sends both the other's name, the note and address. An answer is final: answering again
    changes nothing, and says so. Locks the introduction's row, so two answers at once see
    each other."""
    if not introduction.is_side(member.id):
        raise RuleViolation(_l("Only the two people introduced can answer."))
    introduction = lock_row(db_session, Introduction, introduction.id)
    earlier = introduction.answer_of(member.id)
    if earlier is not None:
        return Answered(earlier, again=True)
    answer = Answer.ACCEPTED if accept else Answer.DECLINED
    if member.id == introduction.first_id:
        introduction.first_answer, introduction.first_answered_at = answer, now
    else:
        introduction.second_answer, introduction.second_answered_at = answer, now
    if introduction.first_answer == introduction.second_answer == Answer.ACCEPTED:
        introduction.completed_at = now
        first, second = db_session.scalars(
            sa.select(User)
            .where(User.id.in_((introduction.first_id, introduction.second_id)))
            .order_by(User.id)
        ).all()
        introducer = db_session.get(User, introduction.introducer_id)
        for person, other in ((first, second), (second, first)):
            queue_email(
                db_session,
                user=person,
                kind="introduction_accepted",
                now=now,
                about=introducer,
                other=other,
                note=introduction.note,
                link=Link("introductions.show", {"introduction_id": introduction.id}),
            )
    return Answered(answer, again=False)


# --- asking ------------------------------------------------------------------------------------


def asked_between(db_session: Session, requester: User, since: datetime, until: datetime) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(IntroductionRequest)
        .where(
            IntroductionRequest.requester_id == requester.id,
            IntroductionRequest.created_at > since,
            IntroductionRequest.created_at <= until,
        )
    )


def ask_for_introduction(
    db_session: Session,
    *,
    requester: User,
    via: User,
    target: User,
    note: str,
    now: datetime,
) -> IntroductionRequest:
    """Ask `via` to introduce `requester` to `target`, and tell `via` (by their email
    choice; the notice on /introductions always). Raises RuleViolation when a rule refuses
    it. Locks the requester's row for the daily limit and a second request at once. A
    target who does not take introductions gets a request that passed at once, unsent."""
    check_may_ask(db_session, requester, via, target, now=now)
    note = _clean_note(note, required=False)
    lock_row(db_session, User, requester.id)
    done = pair_introduced(db_session, requester.id, target.id)
    if done is not None and done.is_accepted:
        raise RuleViolation(
            _l("You and %(name)s have been introduced already.", name=target.display_name)
        )
    # Any earlier request, open, let pass or made: asking again must not tell which.
    asked_already = db_session.scalar(
        sa.select(IntroductionRequest.id)
        .where(
            IntroductionRequest.requester_id == requester.id,
            IntroductionRequest.via_id == via.id,
            IntroductionRequest.target_id == target.id,
        )
        .limit(1)
    )
    if asked_already is not None:
        raise RuleViolation(
            _l("You have asked %(name)s for this introduction already.", name=via.display_name)
        )
    if asked_between(db_session, requester, now - timedelta(days=1), now) >= REQUEST_DAILY_LIMIT:
        raise RuleViolation(
            _l(
                "You can ask for at most %(n)d introductions a day: ask tomorrow.",
                n=REQUEST_DAILY_LIMIT,
            ),
            field="note",
        )
    request = IntroductionRequest(
        requester_id=requester.id, via_id=via.id, target_id=target.id, note=note, created_at=now
    )
    if not target.accept_introductions:
        # "Don't introduce me": the request passes at once and via is not told; the
        # requester sees "asked", as for any request that via lets pass.
        request.passed_at = now
    db_session.add(request)
    db_session.flush()
    if not request.is_open:
        return request
    queue_email(
        db_session,
        user=via,
        kind="introduction_requested",
        now=now,
        about=requester,
        other=target,
        note=note,
        answer_at=Link("introductions.index", anchor="requests"),
    )
    return request


def let_pass(db_session: Session, request: IntroductionRequest, *, by: User, now: datetime) -> None:
    """The asked member lets a request pass: it leaves their list; the requester is not told."""
    if request.via_id != by.id:
        raise RuleViolation(_l("Only the person asked can let a request pass."))
    if request.is_open:
        request.passed_at = now
