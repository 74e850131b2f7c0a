"""What each member sees of introductions: one introduction as its introducer or one of its
two people may see it (`seen_by`), the lists of /introductions, and the accepted ones the
co-worker pages show. Read-only; the rules and the changes are in `services`.
"""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from studygroup.auth.models import User
from studygroup.introductions.models import (
    Answer,
    Introduction,
    IntroductionRequest,
    UnsentIntroduction,
    open_for_via,
)


@dataclass
class Seen:
    """One introduction as one member may see it."""

    introduction: Introduction | UnsentIntroduction  # unsent: only in its introducer's list
    status: str  # to_answer, accepted (both), waiting (made by me, or I accepted), declined (me)
    other: User | None = None  # a side's other side: only once both accepted


def seen_by(introduction: Introduction, viewer: User) -> Seen | None:
    """What `viewer` may see of an introduction: None when they are neither its introducer nor
    one of its two people. The introducer sees "waiting" until both accepted, even after a
    decline; a side sees their own answer, and the other's name only once both accepted."""
    if introduction.introducer_id == viewer.id:
        return Seen(introduction, "accepted" if introduction.is_accepted else "waiting")
    if not introduction.is_side(viewer.id):
        return None
    if introduction.is_accepted:
        return Seen(introduction, "accepted", introduction.other_than(viewer.id))
    answer = introduction.answer_of(viewer.id)
    if answer is None:
        return Seen(introduction, "to_answer")
    return Seen(introduction, "waiting" if answer == Answer.ACCEPTED else "declined")


def introduction_seen_by(db_session: Session, introduction_id: int, viewer: User) -> Seen | None:
    """The introduction as `viewer` may see it (`seen_by`), with its three people; None when
    it does not exist or is none of theirs (one query)."""
    introduction = db_session.scalar(
        sa.select(Introduction)
        .where(Introduction.id == introduction_id)
        .options(
            joinedload(Introduction.introducer),
            joinedload(Introduction.first),
            joinedload(Introduction.second),
        )
    )
    return seen_by(introduction, viewer) if introduction is not None else None


@dataclass
class Lists:
    to_answer: list[Seen]
    requests_to_me: list[IntroductionRequest]
    accepted: list[Seen]
    answered: list[Seen]  # mine, waiting for the other, or declined by me
    made: list[Seen]
    asked: list[IntroductionRequest]


def lists_of(db_session: Session, member: User) -> Lists:
    """Everything /introductions shows `member`, newest first, in three queries. Requests
    whose requester or target no longer takes introductions are left out of the asked
    member's list (they cannot be made)."""
    introductions = db_session.scalars(
        sa.select(Introduction)
        .where(
            sa.or_(
                Introduction.introducer_id == member.id,
                Introduction.first_id == member.id,
                Introduction.second_id == member.id,
            )
        )
        .options(
            joinedload(Introduction.introducer),
            joinedload(Introduction.first),
            joinedload(Introduction.second),
        )
        .order_by(Introduction.created_at.desc(), Introduction.id.desc())
    ).all()
    requests = db_session.scalars(
        sa.select(IntroductionRequest)
        .where(
            sa.or_(
                IntroductionRequest.requester_id == member.id,
                sa.and_(IntroductionRequest.via_id == member.id, open_for_via()),
            )
        )
        .options(
            joinedload(IntroductionRequest.requester),
            joinedload(IntroductionRequest.via),
            joinedload(IntroductionRequest.target),
        )
        .order_by(IntroductionRequest.created_at.desc(), IntroductionRequest.id.desc())
    ).all()
    unsent = db_session.scalars(
        sa.select(UnsentIntroduction)
        .where(UnsentIntroduction.introducer_id == member.id)
        .options(joinedload(UnsentIntroduction.first), joinedload(UnsentIntroduction.second))
    ).all()
    lists = Lists([], [], [], [], [], [])
    for introduction in introductions:
        seen = seen_by(introduction, member)
        if introduction.introducer_id == member.id:
            lists.made.append(seen)
        elif seen.status == "to_answer":
            lists.to_answer.append(seen)
        elif seen.status == "accepted":
            lists.accepted.append(seen)
        else:
            lists.answered.append(seen)
    if unsent:
        lists.made = sorted(
            [*lists.made, *(Seen(u, "waiting") for u in unsent)],
            key=lambda seen: (seen.introduction.created_at, seen.introduction.id),
            reverse=True,
        )
    for request in requests:
        if request.via_id == member.id:
            lists.requests_to_me.append(request)
        else:
            lists.asked.append(request)
    return lists


@dataclass
class Introduced:
    """An accepted introduction on a member's co-worker page: the other and who introduced."""

    other: User
    introducer: User
    completed_at: datetime


def accepted_introductions(db_session: Session, member: User) -> list[Introduced]:
    """`member`'s accepted introductions, newest first, with the other side and introducer
    (one query)."""
    rows = db_session.scalars(
        sa.select(Introduction)
        .where(
            sa.or_(Introduction.first_id == member.id, Introduction.second_id == member.id),
            Introduction.completed_at.is_not(None),
        )
        .options(
            joinedload(Introduction.introducer),
            joinedload(Introduction.first),
            joinedload(Introduction.second),
        )
        .order_by(Introduction.completed_at.desc(), Introduction.id.desc())
    ).all()
    return [Introduced(i.other_than(member.id), i.introducer, i.completed_at) for i in rows]


def accepted_pairs_among(db_session: Session, user_ids, *, seen_by: User) -> list[tuple[int, int]]:
    """The accepted introductions between these people that `seen_by` made or is one of the
    two in, as (lower id, higher id): the dashed lines of a picture. Anyone else's would tell
    them, with "introduced already", which pairs declined. One query."""
    ids = list(user_ids)
    if len(ids) < 2:
        return []
    return [
        (a, b)
        for a, b in db_session.execute(
            sa.select(Introduction.first_id, Introduction.second_id).where(
                Introduction.first_id.in_(ids),
                Introduction.second_id.in_(ids),
                Introduction.completed_at.is_not(None),
                sa.or_(
                    Introduction.introducer_id == seen_by.id,
                    Introduction.first_id == seen_by.id,
                    Introduction.second_id == seen_by.id,
                ),
            )
        )
    ]
