from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, IntegerField, RadioField, SelectField
from wtforms.validators import NumberRange, Optional

from studygroup.auth.models import CoworkersVisibility
from studygroup.coworking.services import Order
from studygroup.forms import Form, options


class FiltersForm(Form):
    """The co-workers page's group, year and order: a GET form, read from the query string
    with the names its links have always used. No CSRF token: it changes nothing, and its
    links are bookmarked and shared. A value the page does not offer counts as not given."""

    class Meta:
        csrf = False

    group = IntegerField(validators=[Optional(), NumberRange(min=1)])
    year = IntegerField(validators=[Optional(), NumberRange(min=2000, max=2100)])
    order = SelectField(choices=[o.value for o in Order], default=Order.MOST.value)

    def read(self) -> "FiltersForm":
        """Validate, then drop what did not pass (the page shows no errors for a filter)."""
        self.validate()
        for field in (self.group, self.year):
            if field.errors:
                field.data = None
        if self.order.errors:
            self.order.data = Order.MOST.value
        return self

    def year_window(self, tz: str) -> tuple[datetime | None, datetime | None]:
        """The chosen year from 1 January to 31 December in `tz` (the member's zone), in UTC;
        (None, None) for all years."""
        if self.year.data is None:
            return None, None
        zone = ZoneInfo(tz)
        since = datetime(self.year.data, 1, 1, tzinfo=zone).astimezone(UTC)
        until = datetime(self.year.data + 1, 1, 1, tzinfo=zone).astimezone(UTC)
        return since, until


class PrivacyForm(Form):
    coworkers_visibility = RadioField(
        _l("Who can see this page"),
        choices=options(
            [
                (CoworkersVisibility.ONLY_ME.value, _l("Only me")),
                (CoworkersVisibility.SHARED_GROUPS.value, _l("Members of groups we share")),
                (CoworkersVisibility.ANYONE_WITH_LINK.value, _l("Anyone with the link")),
            ]
        ),
    )
    appear_by_name = BooleanField(
        _l("Show my name on other members' pages"),
        description=_l(
            "Their pages show who they worked with. Where a member lets “Anyone with the "
            "link” see their page, visitors without an account see your name there too. "
            "Unticked, you appear as “a member”."
        ),
    )
    accept_thanks = BooleanField(
        _l("Co-workers can send me thank-you notes"),
        description=_l(
            "After a session, the people who worked it with you can send you a short note; "
            "you see it on your “Thank-you notes” page. Unticked, no one can send you one."
        ),
    )
    share_birthday = BooleanField(
        _l("Show my birthday (month and day) to people I worked with"),
        description=_l(
            "Only people who worked a session with you see it, on their co-worker page, and "
            "only while you appear by name. Set the date on your profile."
        ),
    )
    email_birthday_digest = BooleanField(
        _l("Weekly: birthdays this week among people I worked with"),
        description=_l(
            "An email on Monday morning, only in weeks when someone you worked with, who "
            "shares their birthday, has one."
        ),
    )
    accept_introductions = BooleanField(
        _l("Take introductions"),
        description=_l(
            "A member who worked with you, or who organizes a group you are in, can introduce "
            "you to someone they know; you each accept or decline, privately. Unticked "
            "(“don't introduce me”), no one can introduce you and you cannot ask for an "
            "introduction."
        ),
    )
    findable = BooleanField(
        _l("Members of my groups can find me by my skills and interests"),
        description=_l(
            "In “Who knows…?”, members of the groups you are in find you by the skills and "
            "interests on your profile, only while your name is shown on other members' pages. "
            "Unticked, no search finds you."
        ),
    )
