"""Who may see and manage a group. Views get the group and the viewer's membership."""

from functools import cache, wraps

import sqlalchemy as sa
from flask import abort, has_request_context, request
from flask_login import current_user
from sqlalchemy.orm import Load

from studygroup.auth.models import User
from studygroup.db import reads_outside_transaction
from studygroup.extensions import db, login_manager
from studygroup.groups.models import Group, Membership
from studygroup.groups.services import can_view_group, membership_of
from studygroup.groups.slugs import SLUG_RE
from studygroup.pagecache.cache import note_revision
from studygroup.pagecache.models import revision_number

_VIEWER_GROUP = "studygroup.viewer_group"  # per request (environ), never a later request's g


def load_viewer(session_token: str, slug: str | None) -> User | None:
    """The logged-in member, in the request's one statement that also reads what every page
    needs: the data revision (the page cache's key, `note_revision`) and, on a group's pages
    (`slug` in the URL), the group and the member's membership.

    The user comes with the header's counts (deferred columns in the "nav" group, such as
    introductions waiting for an answer), so the header costs no query of its own.
    """
    in_group = slug is not None and SLUG_RE.match(slug) is not None
    with reads_outside_transaction(db.session):  # a kept page's one round trip on PostgreSQL
        row = db.session.execute(
            _viewer_statement(in_group), {"token": session_token, "slug": slug}
        ).first()
    if row is None:
        return None
    note_revision(row[1])
    if in_group and has_request_context():
        request.environ[_VIEWER_GROUP] = (slug, row[2], row[3])
    return row[0]


@cache
def _viewer_statement(in_group: bool) -> sa.Select:
    """Built once per process (every request runs it: building it each time cost more than
    running it), with the token and the slug as parameters."""
    columns = [User, revision_number()] + ([Group, Membership] if in_group else [])
    statement = sa.select(*columns).select_from(User)
    if in_group:
        statement = statement.outerjoin(Group, Group.slug == sa.bindparam("slug")).outerjoin(
            Membership, (Membership.user_id == User.id) & (Membership.group_id == Group.id)
        )
    return statement.where(User.session_token == sa.bindparam("token")).options(
        Load(User).undefer_group("nav")
    )


def find_group(slug: str) -> Group | None:
    """The group at this address; a malformed address is simply not found. Also reads the
    data revision for a visitor not logged in."""
    if not SLUG_RE.match(slug):
        return None
    with reads_outside_transaction(db.session):
        row = db.session.execute(
            sa.select(Group, revision_number()).where(Group.slug == slug)
        ).first()
    if row is None:
        return None
    note_revision(row[1])
    return row[0]


def group_and_membership(slug: str) -> tuple[Group | None, Membership | None]:
    """The group at this address and the viewer's membership in it (None, None: no group)."""
    if current_user.is_authenticated:  # loads the viewer, and with them the group (load_viewer)
        preloaded = request.environ.get(_VIEWER_GROUP)
        if preloaded is not None and preloaded[0] == slug:
            return preloaded[1], preloaded[2]
        group = find_group(slug)
        return group, (membership_of(db.session, current_user, group) if group else None)
    return find_group(slug), None


def group_view(*, organizer: bool = False, member: bool = False):
    """Load the group from the `slug` in the URL and check access.

    A members-only group is a 404 to outsiders (its existence stays private); organizer pages
    send anonymous visitors to log in and give members 403. The view is called with
    `group=` and `membership=` instead of `slug=`.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(slug: str, **kwargs):
            group, membership = group_and_membership(slug)
            if group is None:
                abort(404)
            if not can_view_group(group, membership):
                abort(404)
            if organizer or member:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if organizer and not (membership and membership.is_organizer):
                    abort(403)
                if member and not (membership and membership.is_active):
                    abort(403)
            return view(group=group, membership=membership, **kwargs)

        wrapped.organizer_only = organizer  # read by the access test that walks the URL map
        return wrapped

    return decorator
