"""Sessions of a group with their roles, head-counts and gaps: counts for everyone who may
see the group, names for its members."""

from datetime import datetime

from flask_babel import gettext as _

from studygroup.api.auth import viewer
from studygroup.api.errors import ApiError
from studygroup.api.groups import visible_group
from studygroup.api.openapi import spec
from studygroup.api.operations import OPTIONAL_BEARER, read
from studygroup.api.paging import decode_cursor, encode_cursor, next_page
from studygroup.api.present import session_out
from studygroup.api.reads import one_session, upcoming_sessions_page
from studygroup.api.schemas import SessionOut, SessionPage, SessionsQuery
from studygroup.db import utcnow
from studygroup.extensions import db


@spec.validate(
    resp=read(SessionPage), tags=["sessions"], operation_id="listSessions", security=OPTIONAL_BEARER
)
def list_sessions(slug: str, query: SessionsQuery):
    """A group's coming sessions

    Soonest first, cancelled ones included (`status`). `gaps=true`: only sessions taking
    place with a role short of people.
    """
    group, membership = visible_group(slug)
    is_member = membership is not None and membership.is_active
    key = decode_cursor(query.cursor, str, int)
    after = None
    if key is not None:
        try:
            after = (datetime.fromisoformat(key[0]), key[1])
        except ValueError:
            after = None
        if after is None or after[0].tzinfo is None:
            raise ApiError(400, "invalid_cursor", _("This cursor is not one this list gave."))
    me = viewer()
    details, last = upcoming_sessions_page(
        db.session,
        group,
        viewer=me,
        is_member=is_member,
        now=utcnow(),
        after=after,
        limit=query.limit,
        gaps_only=query.gaps,
    )
    viewer_id = me.id if me is not None else None
    return SessionPage(
        items=[
            session_out(
                s,
                details,
                viewer_id=viewer_id,
                is_member=is_member,
                is_organizer=is_member and membership.is_organizer,
            )
            for s in details.sessions
        ],
        **next_page(encode_cursor(last[0].isoformat(), last[1]) if last else None, slug=slug),
    )


@spec.validate(
    resp=read(SessionOut), tags=["sessions"], operation_id="getSession", security=OPTIONAL_BEARER
)
def get_session(slug: str, session_id: int):
    """One session"""
    group, membership = visible_group(slug)
    is_member = membership is not None and membership.is_active
    me = viewer()
    details = one_session(db.session, group, session_id, viewer=me, is_member=is_member)
    if details is None:
        raise ApiError(404, message=_("This group has no such session."))
    return session_out(
        details.sessions[0],
        details,
        viewer_id=me.id if me is not None else None,
        is_member=is_member,
        is_organizer=is_member and membership.is_organizer,
    )
