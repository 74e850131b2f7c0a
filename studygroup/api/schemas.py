"""The API's shapes. Field names are the glossary's words; times are ISO 8601 in UTC with the
group's time zone name beside them."""

from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError


class Shape(BaseModel):
    """Every shape here builds its validator when it first validates, not at import: with
    the JSON schemas written on demand (studygroup.api), ~520 M instructions (~70 ms) less in
    every worker's create_app() (issue 13). Pydantic builds each once a process, under a lock."""

    model_config = ConfigDict(defer_build=True)


class Strict(Shape):
    """Request bodies and queries: an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


# --- errors ---------------------------------------------------------------------------------


class ErrorDetail(Shape):
    code: str = Field(description="Stable, machine-readable: not_found, invalid, rate_limited…")
    message: str = Field(description="In the caller's language (Accept-Language, else profile)")
    fields: dict[str, str] = Field(
        default_factory=dict, description="What is wrong with each field, by field name"
    )


class ErrorBody(Shape):
    error: ErrorDetail


# --- paging -----------------------------------------------------------------------------------

Limit = Annotated[int, Field(ge=1, le=100, description="How many items (1–100)")]
Cursor = Annotated[
    str | None,
    Field(
        default=None,
        max_length=200,
        description="Opaque: the `next_cursor` of the previous page",
    ),
]


class PageQuery(Strict):
    cursor: Cursor = None
    limit: Limit = 20


class SessionsQuery(PageQuery):
    gaps: bool = Field(
        default=False, description="Only sessions taking place with a role short of people"
    )


# --- groups -----------------------------------------------------------------------------------


class Visibility(StrEnum):
    PUBLIC = "public"
    MEMBERS = "members"


class MyRole(StrEnum):
    ORGANIZER = "organizer"
    MEMBER = "member"


class GroupOut(Shape):
    slug: str
    name: str
    description: str
    timezone: str = Field(description="IANA name, e.g. Asia/Tokyo")
    visibility: Visibility
    my_role: MyRole | None = Field(description="The caller's role in the group; null: none")


class GroupPage(Shape):
    items: list[GroupOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end")
    next: str | None = Field(description="The next page's URL; null: end")


# --- sessions ---------------------------------------------------------------------------------


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    NOT_HELD = "not_held"


class PlaceStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REQUESTED = "requested"


class PersonOut(Shape):
    name: str | None = Field(description="null: a member who chose not to appear by name")
    user_id: int | None = Field(description="For the group's organizers only (to assign)")
    place_id: int | None = Field(
        description="For the group's organizers only (to mark attendance, cancel)"
    )


class MyPlace(Shape):
    place_id: int
    status: PlaceStatus
    waitlist_number: int | None


class RoleOut(Shape):
    slot_id: int
    role: str = Field(description="The role's name in the caller's language")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    needed: int = Field(ge=0)
    filled: int = Field(ge=0, description="Confirmed places")
    gap: int = Field(ge=0, description="Places still open")
    requires_approval: bool
    people: list[PersonOut] | None = Field(
        description="Who holds the confirmed places (members of the group only; null otherwise)"
    )
    waitlisted: int | None = Field(description="How many wait (members only; null otherwise)")
    my_place: MyPlace | None = Field(description="The caller's place in this role, if any")


class ParticipantCounts(Shape):
    registered: int = Field(ge=0)
    capacity: int = Field(ge=0)
    waitlisted: int = Field(ge=0)


class SessionOut(Shape):
    id: int
    group: str = Field(description="The group's slug")
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str = Field(description="The group's IANA time zone")
    venue: str
    status: SessionStatus
    roles: list[RoleOut]
    participants: ParticipantCounts | None = Field(
        description="For sessions that take participants; null otherwise"
    )


class SessionPage(Shape):
    items: list[SessionOut]
    next_cursor: str | None
    next: str | None


# --- places (sign-ups) ----------------------------------------------------------------------


class SignUpBody(Strict):
    talk_title: str = Field(
        default="", max_length=200, description="For roles that need approval (a talk)"
    )
    talk_abstract: str = Field(default="", max_length=2000)


class AttendanceValue(StrEnum):
    WORKED = "worked"
    NO_SHOW = "no_show"
    UNKNOWN = "unknown"


class CanHelpBody(Strict):
    role_type_ids: list[Annotated[int, Field(ge=1, lt=2**31)]] = Field(
        default_factory=list,
        max_length=50,
        description="The roles you can help with (the session's role_type ids); empty: any",
    )
    note: str = Field(default="", max_length=200, description='e.g. "until 11:00"')
    usually: bool = Field(
        default=False, description="For a session of a series: usually available for the series"
    )


class CanHelpOut(Shape):
    session_id: int
    can_help: bool
    message: str


class PlaceState(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    REQUESTED = "requested"
    CANCELLED = "cancelled"
    DECLINED = "declined"


class PlaceOut(Shape):
    place_id: int
    group: str
    session_id: int
    slot_id: int
    role: str
    status: PlaceState = Field(
        description="confirmed: you have the place; waitlisted: the role was full; "
        "requested: an organizer will answer"
    )
    waitlist_number: int | None = Field(description="Your number in line, when waitlisted")
    attendance: AttendanceValue
    message: str = Field(description="What happened, in the caller's language")


# --- organizing ---------------------------------------------------------------------------------

# Times far outside a group's life are mistakes (and overflow date arithmetic).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class NewSessionBody(Strict):
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="ISO 8601 with its offset")
    ends_at: AwareDatetime = Field(description="After starts_at, at most 24 hours later")
    venue: str | None = Field(
        default=None, max_length=200, description="Default: the group's usual venue"
    )
    description: str = Field(default="", max_length=10000)
    allow_same_start: bool = Field(
        default=False,
        description="Post even when the group has a session starting at the same moment",
    )

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _within_reason(cls, moment: datetime) -> datetime:
        if not EARLIEST <= moment <= LATEST:
            raise ValueError("out of range")
        return moment.astimezone(UTC)


class AttendanceBody(Strict):
    attendance: AttendanceValue


class AssignBody(Strict):
    user_id: int = Field(ge=1, lt=2**31, description="A member of the group")
    confirm: str | None = Field(
        default=None,
        max_length=500,
        description="After a 409 ask_first: its fields.confirm, to assign anyway",
    )


class MoveBody(Strict):
    to_slot_id: int = Field(ge=1, lt=2**31, description="Another role of the same session")
    confirm: str | None = Field(
        default=None,
        max_length=500,
        description="After a 409 ask_first: its fields.confirm, to move anyway",
    )


class AnswerBody(Strict):
    confirm: str | None = Field(
        default=None,
        max_length=500,
        description="Approving, after a 409 ask_first: its fields.confirm, to approve anyway",
    )


class EditSessionBody(Strict):
    """Only the fields given change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    starts_at: AwareDatetime | None = Field(default=None, description="Moving the session")
    ends_at: AwareDatetime | None = None
    venue: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10000)
    allow_same_start: bool = False

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _within_reason(cls, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        return NewSessionBody._within_reason(moment)


class SeriesPattern(StrEnum):
    MONTHLY = "monthly"
    WEEKLY = "weekly"
    CUSTOM = "custom"


class Weekday(StrEnum):
    MO = "MO"
    TU = "TU"
    WE = "WE"
    TH = "TH"
    FR = "FR"
    SA = "SA"
    SU = "SU"


class NewSeriesBody(Strict):
    """The series form's choices: the weeks of each month, every n weeks, or an RRULE."""

    title: str = Field(min_length=1, max_length=200)
    pattern: SeriesPattern = Field(
        default=SeriesPattern.MONTHLY,
        description="monthly: on the `ordinals` weeks; weekly: every `interval` weeks; "
        "custom: the `rule`",
    )
    weekday: Weekday = Field(default=Weekday.SA, description="For monthly and weekly")
    ordinals: list[Literal[1, 2, 3, 4, -1]] = Field(
        default=[3],
        min_length=1,
        max_length=5,
        description="Monthly: which weeks (1–4, -1 the last)",
    )
    interval: int = Field(default=1, ge=1, le=8, description="Weekly: every how many weeks")
    rule: str | None = Field(
        default=None,
        max_length=500,
        description="Custom only: an RRULE (WEEKLY, MONTHLY or YEARLY), e.g. "
        "FREQ=MONTHLY;BYDAY=+1WE,+3WE",
    )
    first_day: date = Field(description="Sessions are made from this date on")
    months: int = Field(default=6, ge=1, le=24, description="For how many months")
    start_time: time = Field(description="Wall-clock time in the group's time zone, no offset")
    end_time: time = Field(description="After start_time, the same day")
    venue: str | None = Field(
        default=None, max_length=200, description="Default: the group's usual venue"
    )
    description: str = Field(default="", max_length=10000)

    @field_validator("first_day")
    @classmethod
    def _plausible(cls, day: date) -> date:
        if not EARLIEST.date() <= day < LATEST.date():
            raise ValueError("out of range")
        return day

    @field_validator("start_time", "end_time")
    @classmethod
    def _wall_clock(cls, at: time) -> time:
        if at.tzinfo is not None:
            raise PydanticCustomError("time_offset", "no offset")
        return at


class SeriesOut(Shape):
    id: int
    skipped: int = Field(ge=0, description="Dates left out: the group had a session then")
    sessions: list[SessionOut] = Field(description="The sessions posted, soonest first")


# --- me -----------------------------------------------------------------------------------------


class SessionBrief(Shape):
    id: int
    group: str
    group_name: str
    title: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str
    venue: str
    status: SessionStatus


class SchedulePlace(Shape):
    place_id: int
    slot_id: int
    role: str
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    status: PlaceStatus
    waitlist_number: int | None
    session: SessionBrief


class ParticipantStatus(StrEnum):
    REGISTERED = "registered"
    WAITLISTED = "waitlisted"


class ScheduleRegistration(Shape):
    registration_id: int
    status: ParticipantStatus
    waitlist_number: int | None
    session: SessionBrief


class ScheduleOut(Shape):
    places: list[SchedulePlace] = Field(description="Your places in roles, soonest first")
    registrations: list[ScheduleRegistration] = Field(
        description="Sessions you registered for as a participant, soonest first"
    )


class CoworkerOut(Shape):
    name: str | None = Field(description="null: someone who chose not to appear by name")
    sessions: int = Field(ge=0, description="Sessions worked together")
    side_by_side: int = Field(
        ge=0, description="Of those, in the same role or at overlapping times"
    )
    first: AwareDatetime
    last: AwareDatetime
    roles: dict[str, int] = Field(description="Roles you both held, and how often")


class CoworkerPage(Shape):
    items: list[CoworkerOut] = Field(description="Most sessions together first")
    next_cursor: str | None
    next: str | None


class FeedLink(Shape):
    url: str = Field(description="The https URL, for any calendar client")
    webcal: str = Field(description="The same as webcal://, to subscribe in one click")
    google: str = Field(description="Add to Google Calendar")


class GroupFeed(FeedLink):
    group: str


class FeedsOut(Shape):
    schedule: FeedLink = Field(description="Your private feed of the places you hold")
    groups: list[GroupFeed] = Field(description="Each of your groups' sessions")
