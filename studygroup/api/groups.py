"""Groups: the public ones and the caller's own."""

from flask_babel import gettext as _

from studygroup.api.auth import viewer
from studygroup.api.errors import ApiError
from studygroup.api.openapi import spec
from studygroup.api.operations import OPTIONAL_BEARER, read
from studygroup.api.paging import decode_cursor, encode_cursor, next_page
from studygroup.api.present import group_out
from studygroup.api.reads import GroupRow, groups_page
from studygroup.api.schemas import GroupOut, GroupPage, PageQuery
from studygroup.extensions import db
from studygroup.groups.access import find_group
from studygroup.groups.models import Group, Membership
from studygroup.groups.services import can_view_group, membership_of


def visible_group(slug: str) -> tuple[Group, Membership | None]:
    """The group at `slug` if the caller may see it, with the caller's membership; else 404
    (a members-only group's existence stays private, as on its page)."""
    group = find_group(slug)
    membership = membership_of(db.session, viewer(), group) if group is not None else None
    if group is None or not can_view_group(group, membership):
        raise ApiError(404, message=_("There is no such group, or you may not see it."))
    return group, membership


@spec.validate(
    resp=read(GroupPage), tags=["groups"], operation_id="listGroups", security=OPTIONAL_BEARER
)
def list_groups(query: PageQuery):
    """Groups: the public ones and yours

    By name. Without a token: the public groups.
    """
    after = decode_cursor(query.cursor, str, int)
    rows, last = groups_page(db.session, viewer(), after=after, limit=query.limit)
    return GroupPage(
        items=[group_out(row) for row in rows],
        **next_page(encode_cursor(*last) if last else None),
    )


@spec.validate(
    resp=read(GroupOut), tags=["groups"], operation_id="getGroup", security=OPTIONAL_BEARER
)
def get_group(slug: str):
    """One group"""
    group, membership = visible_group(slug)
    return group_out(GroupRow(group, membership if membership and membership.is_active else None))
