"""The suggested team's reasons in words, in the current language: one place for them, so
the team page and the organizers' email say the same thing."""

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import ngettext

from studygroup.auth.models import User
from studygroup.signups import forming
from studygroup.signups.teams import MENTOR_TIMES, Reason


def _name(users: Mapping[int, User], user_id: int | None) -> str:
    user = users.get(user_id) if user_id is not None else None
    return user.display_name if user is not None else _("someone")


def reason_text(reason: Reason, *, role: str, users: Mapping[int, User]) -> str:
    """One reason a member is in the team, e.g. "first time at reception, with Suzuki
    (8 times)". `role` is the pick's role, named in the reader's language."""
    count = reason.count or 0
    other = _name(users, reason.other_user_id)
    if reason.kind == "chosen":
        return _("chosen by an organizer")
    if reason.kind == "waited":
        return ngettext(
            "offered help %(num)d time without a place",
            "offered help %(num)d times without a place",
            count,
        )
    if reason.kind == "fewest_places":
        if not count:
            return _("no place in the last 6 months")
        return ngettext(
            "%(num)d place in the last 6 months", "%(num)d places in the last 6 months", count
        )
    if reason.kind == "first_time":
        return ngettext(
            "first time at %(role)s, with %(name)s (%(num)d time)",
            "first time at %(role)s, with %(name)s (%(num)d times)",
            count,
            role=role,
            name=other,
        )
    if reason.kind == "mentor":
        return _("shows %(name)s how %(role)s is done", name=other, role=role)
    if reason.kind == "new_pair":
        if count > 1:
            return ngettext(
                "new pair: never worked with %(name)s (%(num)d new pair in all)",
                "new pair: never worked with %(name)s (%(num)d new pairs in all)",
                count,
                name=other,
            )
        return _("new pair: never worked with %(name)s", name=other)
    if reason.kind == "first_time_alone":
        return ngettext(
            "first time at %(role)s; nobody there has done it %(num)d time",
            "first time at %(role)s; nobody there has done it %(num)d times",
            MENTOR_TIMES,
            role=role,
        )
    return reason.kind


def reasons_text(reasons, *, role: str, users: Mapping[int, User]) -> str:
    """A pick's reasons as one line."""
    return _("; ").join(reason_text(r, role=role, users=users) for r in reasons)


def unsuggested_text(reason: str) -> str:
    """Why a member who can help is not in the suggested team."""
    return {
        forming.NO_SHOW: _("over the group's no-show limit"),
        forming.PREFERS_OTHER_ROLES: _("prefers other roles"),
        forming.OVERLAP: _("holds a place at an overlapping time"),
        forming.HAS_PLACE: _("already has a place in the open roles"),
        forming.ROLES_FULL: _("the roles they would take have no open place"),
        forming.SWAPPED_OUT: _("swapped out by an organizer"),
        forming.NOT_CHOSEN: _("others were suggested for the open places"),
    }.get(reason, reason)
