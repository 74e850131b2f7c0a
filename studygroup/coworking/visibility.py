"""Who may see what of co-working history (the privacy help text's words are the rule): whose
groups' history a viewer sees (`history_groups`), whose names (`visible_names`), and who may
open a member's co-worker page at all (`may_view_coworkers`). The history itself:
`coworking.services`.
"""

import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from studygroup.auth.models import CoworkersVisibility, User
from studygroup.groups.models import Group, MemberRole, Membership, MembershipStatus, Visibility


def groups_visible_to(viewer: User | None):
    """SQL: ids of the groups whose history `viewer` may see: public groups and their own."""
    public = sa.select(Group.id).where(Group.visibility == Visibility.PUBLIC)
    if viewer is None:
        return public
    own = sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id, Membership.status == MembershipStatus.ACTIVE
    )
    return public.union(own)


def organized_by(viewer: User):
    """SQL: ids of the groups `viewer` organizes."""
    return sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id,
        Membership.role == MemberRole.ORGANIZER,
        Membership.status == MembershipStatus.ACTIVE,
    )


def history_groups(member: User, viewer: User | None):
    """SQL: ids of the groups whose part of `member`'s history `viewer` may see; None: all of
    it (their own). A member who chose "only me" shows an organizer the groups that organizer
    organizes, and nobody else anything; otherwise others see public groups and their own (a
    members-only group's history never leaves it). The caller checks first that the viewer may
    open the page at all (`may_view_coworkers`)."""
    if viewer is not None and viewer.id == member.id:
        return None
    if member.coworkers_visibility == CoworkersVisibility.ONLY_ME:
        if viewer is None:
            return sa.select(Group.id).where(sa.false())
        return organized_by(viewer)
    return groups_visible_to(viewer)


def visible_names(
    db_session: Session,
    viewer: User | None,
    people,
    *,
    group_id: int,
    organizer: bool | None = None,
) -> dict[int, str | None]:
    """Each person's name as `viewer` may see it on a page of group `group_id`, or None ("a
    member"). One query, only when someone chose not to appear by name and the caller does
    not say whether the viewer organizes the group (`organizer`, as `organized_by`: an
    active organizer's membership)."""
    people = list(people)
    hidden = [p for p in people if not shown_by_name(p.id, p.appear_by_name, viewer)]
    if organizer is None:
        organizer = bool(hidden) and group_id in organized_among(db_session, viewer, {group_id})
    return {
        p.id: p.display_name if organizer or shown_by_name(p.id, p.appear_by_name, viewer) else None
        for p in people
    }


def shown_by_name(user_id: int, appear_by_name: bool, viewer: User | None) -> bool:
    """Shown by name whatever the page: they chose to appear, or they are the viewer."""
    return appear_by_name or (viewer is not None and viewer.id == user_id)


def organized_among(db_session: Session, viewer: User | None, group_ids) -> set[int]:
    """Which of these groups `viewer` organizes (no query when there is nothing to ask)."""
    if viewer is None or not group_ids:
        return set()
    return set(db_session.scalars(organized_by(viewer).where(Membership.group_id.in_(group_ids))))


def may_view_coworkers(
    db_session: Session, viewer: User | None, member: User, *, link_token: str | None = None
) -> bool:
    """The member's choice decides: only me, members of groups we share (the default), or
    anyone with the secret link. Organizers of a group the member is in may always look, at
    their own groups' part of the history only (`history_groups`)."""
    if viewer is not None and viewer.id == member.id:
        return True
    if (
        link_token is not None
        and member.coworkers_visibility == CoworkersVisibility.ANYONE_WITH_LINK
        and secrets.compare_digest(link_token.encode(), member.coworkers_link_token.encode())
    ):
        return True
    if viewer is None:
        return False
    mine = sa.select(Membership.group_id).where(
        Membership.user_id == viewer.id, Membership.status == MembershipStatus.ACTIVE
    )
    theirs = sa.select(Membership).where(
        Membership.user_id == member.id,
        Membership.status == MembershipStatus.ACTIVE,
        Membership.group_id.in_(mine),
    )
    shared = db_session.scalars(theirs).all()
    if not shared:
        return False
    if member.coworkers_visibility != CoworkersVisibility.ONLY_ME:
        return True
    organizer_of = set(db_session.scalars(organized_by(viewer)))
    return any(m.group_id in organizer_of for m in shared)
