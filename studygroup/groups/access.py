"""Who may see and manage a group. Views get the group and the viewer's membership."""

from functools import wraps

import sqlalchemy as sa
from flask import abort, g
from flask_login import current_user

from studygroup.extensions import db, login_manager
from studygroup.groups.models import Group
from studygroup.groups.services import SLUG_RE, can_view_group, membership_of


def find_group(slug: str) -> Group | None:
    """The group at this address; a malformed address is simply not found."""
    if not SLUG_RE.match(slug):
        return None
    return db.session.scalar(sa.select(Group).where(Group.slug == slug))


def group_view(*, organizer: bool = False, member: bool = False):
    """Load the group from the `slug` in the URL and check access.

    A members-only group is a 404 to outsiders (its existence stays private); organizer pages
    send anonymous visitors to log in and give members 403. The view is called with
    `group=` and `membership=` instead of `slug=`.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(slug: str, **kwargs):
            group = find_group(slug)
            if group is None:
                abort(404)
            membership = membership_of(db.session, current_user, group)
            if not can_view_group(group, membership):
                abort(404)
            if organizer or member:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if organizer and not (membership and membership.is_organizer):
                    abort(403)
                if member and not (membership and membership.is_active):
                    abort(403)
            g.group, g.membership = group, membership
            return view(group=group, membership=membership, **kwargs)

        wrapped.organizer_only = organizer  # read by the access test that walks the URL map
        return wrapped

    return decorator
