"""Groups and memberships as plain functions: (db session, ...) -> data (a group's address:
`groups.slugs`; its role types: `groups.role_types`).

Functions flush; the caller commits. Nothing here is ever hard-deleted: members leave or are
removed (status), role types are retired.
"""

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, contains_eager, joinedload

from studygroup.auth.models import User
from studygroup.config import DEFAULT_TIMEZONE
from studygroup.db import lock_row
from studygroup.groups.models import (
    Group,
    JoinPolicy,
    MemberRole,
    Membership,
    MembershipStatus,
    RoleType,
    Visibility,
    new_invite_token,
)
from studygroup.groups.role_types import BUILT_IN_ROLES
from studygroup.groups.slugs import SLUG_RE, slug_taken
from studygroup.mail.services import Link, queue_email
from studygroup.names import by_name, name_matches
from studygroup.paging import Page, paginate
from studygroup.rules import RuleViolation


def create_group(
    db_session: Session,
    *,
    creator: User,
    name: str,
    slug: str,
    now: datetime,
    description: str = "",
    timezone: str = DEFAULT_TIMEZONE,
    default_venue: str = "",
    join_policy: JoinPolicy = JoinPolicy.OPEN,
    visibility: Visibility = Visibility.PUBLIC,
) -> Group:
    """Create a group with its creator as organizer and the built-in role types."""
    if not SLUG_RE.match(slug):
        raise RuleViolation(_l("Use lower-case letters, digits and hyphens."), "slug")
    if slug_taken(db_session, slug):
        raise RuleViolation(_l("This address is taken. Choose another."), "slug")
    group = Group(
        name=name.strip(),
        slug=slug,
        description=description,
        timezone=timezone,
        default_venue=default_venue,
        join_policy=join_policy,
        visibility=visibility,
        created_at=now,
        updated_at=now,
    )
    db_session.add(group)
    db_session.flush()
    db_session.add(
        Membership(
            user_id=creator.id,
            group_id=group.id,
            role=MemberRole.ORGANIZER,
            status=MembershipStatus.ACTIVE,
            joined_at=now,
            created_at=now,
        )
    )
    for position, default in enumerate(BUILT_IN_ROLES):
        db_session.add(
            RoleType(
                group_id=group.id,
                key=default.key,
                name="",
                default_headcount=default.headcount,
                start_anchor=default.start_anchor,
                start_offset_minutes=default.start_offset,
                end_anchor=default.end_anchor,
                end_offset_minutes=default.end_offset,
                requires_approval=default.requires_approval,
                position=position,
                created_at=now,
            )
        )
    db_session.flush()
    return group


def membership_of(db_session: Session, user: User | None, group: Group) -> Membership | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db_session.scalar(
        sa.select(Membership).where(Membership.user_id == user.id, Membership.group_id == group.id)
    )


def can_view_group(group: Group, membership: Membership | None) -> bool:
    return group.visibility == Visibility.PUBLIC or (
        membership is not None and membership.is_active
    )


def join_group(
    db_session: Session,
    *,
    user: User,
    group: Group,
    now: datetime,
    invite_token: str | None = None,
) -> Membership:
    """Join, or ask to join, following the group's policy.

    Open groups and a valid invite link make an active member; approval groups a pending
    request. A member who left before gets their old row back, so their history stays one.
    """
    membership = membership_of(db_session, user, group)
    invited = invite_token is not None and secrets.compare_digest(
        invite_token.encode(), group.invite_token.encode()
    )
    if membership is not None and (
        membership.status == MembershipStatus.ACTIVE
        or (membership.status == MembershipStatus.PENDING and not invited)
    ):
        return membership
    if membership is not None and membership.status == MembershipStatus.REMOVED:
        raise RuleViolation(_l("An organizer removed you from this group."))
    if group.join_policy == JoinPolicy.INVITE and not invited:
        raise RuleViolation(_l("This group is joined through an invitation link."))
    status = (
        MembershipStatus.PENDING
        if group.join_policy == JoinPolicy.APPROVAL and not invited
        else MembershipStatus.ACTIVE
    )
    if membership is None:
        membership = Membership(
            user_id=user.id, group_id=group.id, role=MemberRole.MEMBER, created_at=now
        )
        db_session.add(membership)
    membership.role = MemberRole.MEMBER
    membership.status = status
    membership.joined_at = now if status == MembershipStatus.ACTIVE else None
    membership.left_at = None
    db_session.flush()
    if status == MembershipStatus.PENDING:
        tell_organizers(
            db_session,
            group,
            kind="join_request",
            about=user,
            answer_at=Link(
                "groups.members",
                {"slug": group.slug, "status": MembershipStatus.PENDING.value},
                f"member-{membership.id}",
            ),
            now=now,
        )
    return membership


def tell_organizers(
    db_session: Session,
    group: Group,
    *,
    kind: str,
    about: User,
    answer_at: Link,
    now: datetime,
    place=None,
    session=None,
) -> int:
    """Email every active organizer of the group that `about` asks for something (a place
    that needs approval, to join, a look at a reported note about `session`), each in their
    own language and only if they want such emails; never the one who asks, even when they
    organize too. Returns how many were queued.
    """
    queued = 0
    for organizer in organizers_of(db_session, group):
        if organizer.id == about.id:
            continue
        message = queue_email(
            db_session,
            user=organizer,
            kind=kind,
            group=group,
            place=place,
            session=session,
            about=about,
            answer_at=answer_at,
            now=now,
        )
        queued += message is not None
    return queued


def _active_organizer_count(db_session: Session, group: Group) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(
            Membership.group_id == group.id,
            Membership.role == MemberRole.ORGANIZER,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )


def _ensure_not_last_organizer(db_session: Session, membership: Membership) -> None:
    # The group's row lock makes two organizers stepping down at once take turns.
    lock_row(db_session, Group, membership.group_id)
    if membership.is_organizer and _active_organizer_count(db_session, membership.group) <= 1:
        raise RuleViolation(
            _l("A group needs at least one organizer. Make someone else organizer first.")
        )


def leave_group(db_session: Session, membership: Membership, *, now: datetime) -> None:
    _ensure_not_last_organizer(db_session, membership)
    membership.status = MembershipStatus.LEFT
    membership.role = MemberRole.MEMBER
    membership.left_at = now
    db_session.flush()


def remove_member(db_session: Session, membership: Membership, *, now: datetime) -> None:
    """The member leaves the group; their row and history stay."""
    _ensure_not_last_organizer(db_session, membership)
    membership.status = MembershipStatus.REMOVED
    membership.role = MemberRole.MEMBER
    membership.left_at = now
    db_session.flush()


def approve_member(db_session: Session, membership: Membership, *, now: datetime) -> None:
    """Accept a request to join; the newcomer is told by email, with the group's page, where
    they can sign up now."""
    if membership.status != MembershipStatus.PENDING:
        raise RuleViolation(_l("This request was already answered."))
    membership.status = MembershipStatus.ACTIVE
    membership.joined_at = now
    group = membership.group
    queue_email(
        db_session,
        user=membership.user,
        kind="join_approved",
        group=group,
        link=Link("groups.show", {"slug": group.slug}),
        now=now,
    )


def decline_member(membership: Membership, *, now: datetime) -> None:
    if membership.status != MembershipStatus.PENDING:
        raise RuleViolation(_l("This request was already answered."))
    membership.status = MembershipStatus.DECLINED
    membership.left_at = now


def set_member_role(db_session: Session, membership: Membership, role: MemberRole) -> None:
    if not membership.is_active:
        raise RuleViolation(_l("Only active members can be organizers."))
    if role == MemberRole.MEMBER:
        _ensure_not_last_organizer(db_session, membership)
    membership.role = role
    db_session.flush()


def rotate_invite_token(group: Group) -> str:
    """Revoke the current invitation link and make a new one."""
    group.invite_token = new_invite_token()
    return group.invite_token


# The members page lists those waiting for an answer first, then the group as it is, then
# those who are no longer in it.
STATUS_ORDER = (
    MembershipStatus.PENDING,
    MembershipStatus.ACTIVE,
    MembershipStatus.LEFT,
    MembershipStatus.REMOVED,
    MembershipStatus.DECLINED,
)


def members_page(
    db_session: Session,
    group: Group,
    *,
    page: int,
    size: int,
    search: str = "",
    status: MembershipStatus | None = None,
) -> Page[Membership]:
    """One page of the group's membership rows with their users: requests to answer first,
    then active members (organizers first), then former ones; by reading or name within
    each. `search` finds names and readings; `status` keeps one status. Two queries."""
    query = (
        sa.select(Membership)
        .join(Membership.user)
        .where(Membership.group_id == group.id)
        .options(contains_eager(Membership.user))
        .order_by(
            sa.case({s: n for n, s in enumerate(STATUS_ORDER)}, value=Membership.status),
            sa.case((Membership.role == MemberRole.ORGANIZER, 0), else_=1),
            *by_name(),
        )
    )
    if status is not None:
        query = query.where(Membership.status == status)
    if search.strip():
        query = query.where(name_matches(search))
    return paginate(db_session, query, page=page, size=size)


def member_counts(db_session: Session, group: Group) -> dict[MembershipStatus, int]:
    """How many membership rows of each status the group has (all statuses, in the members
    page's order), in one query."""
    counts = dict.fromkeys(STATUS_ORDER, 0)
    counts.update(
        db_session.execute(
            sa.select(Membership.status, sa.func.count())
            .where(Membership.group_id == group.id)
            .group_by(Membership.status)
        ).all()
    )
    return counts


def organizers_of(db_session: Session, group: Group) -> list[User]:
    return list(
        db_session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.group_id == group.id,
                Membership.role == MemberRole.ORGANIZER,
                Membership.status == MembershipStatus.ACTIVE,
            )
            .order_by(*by_name())
        )
    )


def active_member_count(db_session: Session, group: Group) -> int:
    return db_session.scalar(
        sa.select(sa.func.count())
        .select_from(Membership)
        .where(Membership.group_id == group.id, Membership.status == MembershipStatus.ACTIVE)
    )


def groups_of(db_session: Session, user: User) -> list[Membership]:
    """The user's active and pending memberships with their groups, by group name."""
    return list(
        db_session.scalars(
            sa.select(Membership)
            .join(Membership.group)
            .where(
                Membership.user_id == user.id,
                Membership.status.in_([MembershipStatus.ACTIVE, MembershipStatus.PENDING]),
            )
            .options(joinedload(Membership.group))
            .order_by(Group.name)
        )
    )


def _public_groups() -> sa.Select:
    return (
        sa.select(Group).where(Group.visibility == Visibility.PUBLIC).order_by(Group.name, Group.id)
    )


def public_groups(db_session: Session, limit: int = 50) -> list[Group]:
    return list(db_session.scalars(_public_groups().limit(limit)))


def public_groups_page(db_session: Session, *, page: int, size: int) -> Page[Group]:
    """One page of the public groups, by name (two queries)."""
    return paginate(db_session, _public_groups(), page=page, size=size)
