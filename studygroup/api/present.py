"""Models into the API's shapes (schemas.py), in the caller's language."""

from datetime import UTC, datetime

from studygroup.api import schemas
from studygroup.api.reads import GroupRow, SessionDetails
from studygroup.calendar.links import Subscription
from studygroup.groups.models import Group, Membership
from studygroup.i18n import role_label
from studygroup.sessions.models import StudySession
from studygroup.signups.models import Assignment
from studygroup.signups.schedule import ComingUp


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def my_role(membership: Membership | None) -> schemas.MyRole | None:
    if membership is None or not membership.is_active:
        return None
    return schemas.MyRole.ORGANIZER if membership.is_organizer else schemas.MyRole.MEMBER


def group_out(row: GroupRow) -> schemas.GroupOut:
    group = row.group
    return schemas.GroupOut(
        slug=group.slug,
        name=group.name,
        description=group.description,
        timezone=group.timezone,
        visibility=schemas.Visibility(group.visibility.value),
        my_role=my_role(row.membership),
    )


def session_out(
    session: StudySession,
    details: SessionDetails,
    *,
    viewer_id: int | None,
    is_member: bool,
    is_organizer: bool = False,
) -> schemas.SessionOut:
    roles = []
    for slot in session.slots:
        staffing = details.staffing[slot.id]
        mine = staffing.place_of(viewer_id) if viewer_id is not None else None
        roles.append(
            schemas.RoleOut(
                slot_id=slot.id,
                role=role_label(slot.role_type),
                starts_at=_utc(slot.starts_at),
                ends_at=_utc(slot.ends_at),
                needed=staffing.needed,
                filled=staffing.filled,
                gap=staffing.gap,
                requires_approval=slot.role_type.requires_approval,
                people=[
                    schemas.PersonOut(
                        name=details.names.get(place.user_id),
                        user_id=place.user_id if is_organizer else None,
                        place_id=place.id if is_organizer else None,
                    )
                    for place in staffing.confirmed
                ]
                if is_member
                else None,
                waitlisted=len(staffing.waitlist) if is_member else None,
                my_place=schemas.MyPlace(
                    place_id=mine.id,
                    status=schemas.PlaceStatus(mine.status.value),
                    waitlist_number=staffing.waitlist_number(mine),
                )
                if mine is not None
                else None,
            )
        )
    counts = details.participants.get(session.id)
    return schemas.SessionOut(
        id=session.id,
        group=session.group.slug,
        title=session.title,
        starts_at=_utc(session.starts_at),
        ends_at=_utc(session.ends_at),
        timezone=session.group.timezone,
        venue=session.venue,
        status=schemas.SessionStatus(session.status.value),
        roles=roles,
        participants=schemas.ParticipantCounts(
            registered=counts[0], capacity=counts[1], waitlisted=counts[2]
        )
        if counts
        else None,
    )


def session_brief(session: StudySession) -> schemas.SessionBrief:
    return schemas.SessionBrief(
        id=session.id,
        group=session.group.slug,
        group_name=session.group.name,
        title=session.title,
        starts_at=_utc(session.starts_at),
        ends_at=_utc(session.ends_at),
        timezone=session.group.timezone,
        venue=session.venue,
        status=schemas.SessionStatus(session.status.value),
    )


def schedule_out(mine: ComingUp) -> schemas.ScheduleOut:
    return schemas.ScheduleOut(
        places=[
            schemas.SchedulePlace(
                place_id=place.id,
                slot_id=place.slot_id,
                role=role_label(place.slot.role_type),
                starts_at=_utc(place.slot.starts_at),
                ends_at=_utc(place.slot.ends_at),
                status=schemas.PlaceStatus(place.status.value),
                waitlist_number=mine.numbers.get(place.id),
                session=session_brief(place.slot.session),
            )
            for place in mine.places
        ],
        registrations=[
            schemas.ScheduleRegistration(
                registration_id=registration.id,
                status=schemas.ParticipantStatus(registration.status.value),
                waitlist_number=mine.attending_numbers.get(registration.id),
                session=session_brief(registration.session),
            )
            for registration in mine.attending
        ],
    )


def feed_link(link: Subscription) -> schemas.FeedLink:
    return schemas.FeedLink(url=link.url, webcal=link.webcal, google=link.google)


def place_out(place: Assignment, *, group: Group, waitlist_number: int | None, message: str):
    return schemas.PlaceOut(
        place_id=place.id,
        group=group.slug,
        session_id=place.slot.session_id,
        slot_id=place.slot_id,
        role=role_label(place.slot.role_type),
        status=schemas.PlaceState(place.status.value),
        waitlist_number=waitlist_number,
        attendance=schemas.AttendanceValue(place.attendance.value),
        message=message,
    )
