from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
    ValidationError,
)
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from studygroup.forms import Form, number_range, options, plausible_date, required
from studygroup.i18n import role_label
from studygroup.sessions.services import WEEKDAYS

WEEKDAY_NAMES = dict(
    zip(
        WEEKDAYS,
        (
            _l("Monday"),
            _l("Tuesday"),
            _l("Wednesday"),
            _l("Thursday"),
            _l("Friday"),
            _l("Saturday"),
            _l("Sunday"),
        ),
        strict=True,
    )
)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SessionTimesMixin:
    def validate_end_time(self, field):
        if self.start_time.data and field.data and field.data <= self.start_time.data:
            raise ValidationError(_l("The end must be after the start."))


class SessionForm(SessionTimesMixin, Form):
    title = StringField(_l("Title"), validators=[required(), Length(max=200)])
    day = DateField(_l("Date"), validators=[required(), plausible_date])
    start_time = TimeField(_l("Starts"), validators=[required()])
    end_time = TimeField(_l("Ends"), validators=[required()])
    venue = StringField(_l("Venue"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=10000)])


class ParticipantSettingsMixin:
    """The participants fieldset of the new-session, series and edit forms (the edit checks
    it against who registered, studygroup.participants.organize)."""

    takes_participants = BooleanField(_l("Take participants"))
    participant_capacity = IntegerField(
        _l("Capacity"),
        validators=[Optional(), number_range(1, 10000)],
        description=_l("How many may register; more wait on the waitlist."),
    )
    participant_cancel_hours_before = IntegerField(
        _l("Participants can cancel until (hours before)"),
        default=0,
        validators=[Optional(), number_range(0, 720)],
    )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Here, not on the field: its Optional() stops every check of an empty field.
        capacity = self.participant_capacity
        if self.takes_participants.data and capacity.data is None and not capacity.errors:
            capacity.errors.append(_l("Give the number of seats to take participants."))
            return False
        return valid

    def participant_settings(self) -> dict:
        """The fieldset as create_session's and create_series' keywords (a new session has
        nobody registered, so nothing else to check)."""
        return {
            "participant_capacity": (
                self.participant_capacity.data if self.takes_participants.data else None
            ),
            "participant_cancel_hours_before": self.participant_cancel_hours_before.data or 0,
        }


class NewSessionForm(ParticipantSettingsMixin, SessionForm):
    post_anyway = BooleanField(_l("Post it anyway, as a second session at that time"))


class EditSessionForm(ParticipantSettingsMixin, SessionForm):
    save_anyway = BooleanField(_l("Save it anyway, as a second session at that time"))


class SeriesForm(ParticipantSettingsMixin, SessionTimesMixin, Form):
    title = StringField(_l("Title"), validators=[required(), Length(max=200)])
    first_day = DateField(
        _l("First date"),
        validators=[required(), plausible_date],
        description=_l("Sessions are made from this date on."),
    )
    months = IntegerField(
        _l("For how many months"),
        default=6,
        validators=[required(), number_range(1, 24)],
    )
    start_time = TimeField(_l("Starts"), validators=[required()])
    end_time = TimeField(_l("Ends"), validators=[required()])
    pattern = RadioField(
        _l("Repeat"),
        choices=options(
            [
                ("monthly", _l("Monthly, on the chosen weeks")),
                ("weekly", _l("Weekly")),
                ("custom", _l("Custom rule (RRULE)")),
            ]
        ),
        default="monthly",
    )
    ordinals = MultiCheckboxField(
        _l("Which weeks"),
        choices=options(
            [
                ("1", _l("1st")),
                ("2", _l("2nd")),
                ("3", _l("3rd")),
                ("4", _l("4th")),
                ("-1", _l("Last")),
            ]
        ),
        default=["3"],
        validate_choice=True,
    )
    weekday = SelectField(
        _l("Day of the week"),
        choices=options(WEEKDAY_NAMES.items()),
        default="SA",
    )
    interval = IntegerField(
        _l("Every how many weeks"),
        default=1,
        validators=[Optional(), number_range(1, 8)],
    )
    rule = StringField(
        _l("RRULE"),
        validators=[Length(max=500)],
        description=_l("For the custom rule only, e.g. FREQ=MONTHLY;BYDAY=+1WE,+3WE"),
    )
    venue = StringField(_l("Venue"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=10000)])
    preview = SubmitField(_l("Preview dates"))
    submit = SubmitField(_l("Post the sessions"))

    def validate_ordinals(self, field):
        if self.pattern.data == "monthly" and not field.data:
            raise ValidationError(_l("Choose at least one week."))

    def validate_rule(self, field):
        if self.pattern.data == "custom" and not (field.data or "").strip():
            raise ValidationError(_l("Write the rule, e.g. FREQ=MONTHLY;BYDAY=-1FR"))


def headcount_form(role_types, base=Form, defaults: dict[int, int] | None = None):
    """A form class with one head-count field per role type (`headcount_<id>`)."""

    class HeadcountForm(base):
        pass

    for role_type in role_types:
        value = (defaults or {}).get(role_type.id, role_type.default_headcount)
        setattr(
            HeadcountForm,
            f"headcount_{role_type.id}",
            IntegerField(
                role_label(role_type),
                default=value,
                # Left out of the request: the role's default.
                validators=[Optional(), number_range(0, 500)],
            ),
        )
    HeadcountForm.role_types = role_types
    return HeadcountForm


def headcounts_from(form) -> dict[int, int]:
    counts = {rt.id: getattr(form, f"headcount_{rt.id}").data for rt in form.role_types}
    return {role_id: n for role_id, n in counts.items() if n is not None}


def headcount_fields(form):
    return [getattr(form, f"headcount_{rt.id}") for rt in form.role_types]


class SlotForm(Form):
    headcount = IntegerField(_l("People needed"), validators=[required(), number_range(0, 500)])
    start_time = TimeField(_l("From"), validators=[required()])
    end_time = TimeField(_l("To"), validators=[required()])
    # The places the organizer saw listed as over a lower head-count, and confirmed ("12,15").
    confirm_over = HiddenField(validators=[Length(max=2000)])


class AddSlotForm(Form):
    role_type_id = SelectField(_l("Role"), coerce=int)
