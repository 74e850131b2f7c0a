import calendar
import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from studygroup.config import DEFAULT_TIMEZONE
from studygroup.db import UTCDateTime, string_enum, utcnow
from studygroup.extensions import db
from studygroup.names import SKILL_KEY_LENGTH, name_search_key, name_sort_key

user_skill = sa.Table(
    "user_skill",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("user.id"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skill.id"), primary_key=True),
    # "Who knows X?" finds the members of the matching skills (studygroup.people).
    sa.Index("ix_user_skill_skill_user", "skill_id", "user_id"),
)


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def is_birthday(month: int | None, day: int | None) -> bool:
    """A month and day that exist in some year (29 February included)."""
    if month is None or day is None or not 1 <= month <= 12:
        return False
    return 1 <= day <= calendar.monthrange(2000, month)[1]  # 2000: a leap year


class CoworkersVisibility(enum.StrEnum):
    """Who may open a member's "people you've co-worked with" page."""

    ONLY_ME = "only_me"
    SHARED_GROUPS = "shared_groups"  # members of groups we share (the default)
    ANYONE_WITH_LINK = "link"  # anyone who has the secret link


class User(UserMixin, db.Model):
    __table_args__ = (
        # Both or neither; the form checks that the day fits the month (29 February included).
        sa.CheckConstraint(
            "(birthday_month IS NULL AND birthday_day IS NULL) OR "
            "(birthday_month BETWEEN 1 AND 12 AND birthday_day BETWEEN 1 AND 31)",
            name="birthday_month_and_day",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: the login. Never shown to other members.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(80))
    # How the name is read (ふりがな), optional; lists sort by it (studygroup.names).
    reading: Mapped[str | None] = mapped_column(sa.String(80))
    # Kept by the model from the two above: what lists sort by and what a search looks in.
    name_sort_key: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    name_search_key: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    bio: Mapped[str] = mapped_column(sa.Text, default="")
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    # The page language of the member's last visit (first: registration). Emails and feeds use
    # it for members who set no language of their own and follow their browser.
    last_locale: Mapped[str | None] = mapped_column(sa.String(10))
    timezone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIMEZONE)
    # Flask-Login's alternative token: rotating it ends every session and remember cookie.
    session_token: Mapped[str] = mapped_column(
        sa.String(64), unique=True, default=new_session_token
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Which emails the member wants (all on by default).
    email_signups: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    email_waitlist: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    email_session_changes: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    email_reminders: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Organizers: a speaker request or a join request waits for an answer.
    email_organizer_requests: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # A co-worker sent me a thank-you note.
    email_thanks: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Someone introduced me, asks me for an introduction, or both sides of mine accepted.
    email_introductions: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Organizers' announcements to a session's people or the group.
    email_announcements: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Co-working privacy: who sees my page, and whether I appear by name on others' pages.
    coworkers_visibility: Mapped[CoworkersVisibility] = mapped_column(
        string_enum(CoworkersVisibility, "coworkers_visibility"),
        default=CoworkersVisibility.SHARED_GROUPS,
        server_default=CoworkersVisibility.SHARED_GROUPS.value,
    )
    appear_by_name: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Co-workers may send me thank-you notes (studygroup.thanks); off: nobody can.
    accept_thanks: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Birthday: month and day only (no year), both or neither; Feb 29 allowed. Private by
    # default; shared, only people who worked with the member see it (relationships.birthdays).
    birthday_month: Mapped[int | None] = mapped_column(sa.SmallInteger)
    birthday_day: Mapped[int | None] = mapped_column(sa.SmallInteger)
    share_birthday: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The weekly "birthdays this week among people I worked with": opt-in, unlike the others.
    email_birthday_digest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # People I worked with may introduce me to others (studygroup.introductions); off:
    # "don't introduce me", nobody can, and I cannot ask for one.
    accept_introductions: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Members of my groups can find me by my skills and interests ("who knows X?",
    # studygroup.people); only while I also appear by name.
    findable: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    coworkers_link_token: Mapped[str] = mapped_column(
        sa.String(64), default=new_session_token, server_default=""
    )
    # The private calendar feed: only a hash of its token is stored (studygroup.calendar.tokens).
    calendar_token_salt: Mapped[str | None] = mapped_column(sa.String(64))
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # When what feeds show of the member last changed (their name, or whether they appear by
    # name): the change time of co-workers' events. Kept by the model; other edits (logging
    # out, a password, the bio...) leave it alone, so those events keep their stamps.
    shown_changed_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, server_default=sa.func.current_timestamp()
    )
    # Any change to the row, such as a new name: calendar feeds that show it are rebuilt.
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=sa.func.current_timestamp()
    )
    # Raised by the database on every UPDATE. Feed versions sum it, so an edit always gives
    # a new version, whatever the app servers' clocks say about updated_at.
    revision: Mapped[int] = mapped_column(
        default=0, server_default="0", onupdate=sa.text("revision + 1")
    )

    skills: Mapped[list["Skill"]] = relationship(secondary=user_skill, order_by="Skill.name")
    memberships: Mapped[list["Membership"]] = relationship(  # noqa: F821
        back_populates="user", lazy="raise_on_sql"
    )

    @validates("display_name", "reading", "appear_by_name")
    def _keep_derived_columns(self, key: str, value):
        if key in ("display_name", "appear_by_name") and value != getattr(self, key):
            self.shown_changed_at = utcnow()
        if key == "appear_by_name":
            return value
        display_name = value if key == "display_name" else self.display_name
        reading = value if key == "reading" else self.reading
        self.name_sort_key = name_sort_key(display_name or "", reading)
        self.name_search_key = name_search_key(display_name or "", reading)
        return value

    def get_id(self) -> str:
        return self.session_token

    def __repr__(self) -> str:
        return f"<User {self.id} {self.display_name!r}>"


class Skill(db.Model):
    """A skill or interest tag, shared across members so that "who knows X?" can be asked
    (studygroup.people)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))  # the first spelling given
    # studygroup.names.skill_key: "Python", "ｐｙｔｈｏｎ" and "python" are one tag, and a
    # search looks inside the keys.
    key: Mapped[str] = mapped_column(sa.String(SKILL_KEY_LENGTH), unique=True)


class LoginFailure(db.Model):
    """One failed login from a browser without a device cookie for the account. Counted per
    address over a window."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    address: Mapped[str] = mapped_column(sa.String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class LoginThrottle(db.Model):
    """Attempts at one account's password from untrusted browsers ("account:<email>"), or with
    one device cookie ("device:<nonce>"), so every process sees them. See
    studygroup.auth.services.begin_attempt."""

    key: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Untrusted attempts at the account wait until then (the slow-down).
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
