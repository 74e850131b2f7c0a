from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Length, Optional

from studygroup.extensions import db
from studygroup.forms import (
    Form,
    TimezoneField,
    TrimmedStringField,
    WholeNumberField,
    as_enum,
    number_range,
    options,
    required,
)
from studygroup.groups.models import Anchor, FillMode, JoinPolicy, Visibility
from studygroup.groups.slugs import SLUG_RE, slug_taken
from studygroup.input import is_ascii_number


class SettingNumberField(WholeNumberField):
    """A number that, left empty, keeps the setting it would change (`populate_obj` skips it)."""

    def populate_obj(self, obj, name):
        if self.data is not None:
            super().populate_obj(obj, name)


class GroupForm(Form):
    """The group's settings, named as the Group's columns: `form.populate_obj(group)` saves
    them (the address is checked here and by create_group)."""

    name = TrimmedStringField(_l("Group name"), validators=[required(), Length(max=120)])
    slug = StringField(
        _l("Address"),
        validators=[required(), Length(min=1, max=64)],
        description=_l("Lower-case letters, digits and hyphens; the page will be /g/<address>."),
    )
    description = TextAreaField(_l("Description"), default="", validators=[Length(max=5000)])
    timezone = TimezoneField(default=lambda: current_app.config["DEFAULT_TIMEZONE"])
    default_venue = StringField(_l("Usual venue"), default="", validators=[Length(max=200)])
    join_policy = RadioField(
        _l("Who can join"),
        choices=options(
            [
                (JoinPolicy.OPEN.value, _l("Anyone with an account")),
                (JoinPolicy.APPROVAL.value, _l("Anyone, after an organizer approves")),
                (JoinPolicy.INVITE.value, _l("Only people with the invitation link")),
            ]
        ),
        default=JoinPolicy.OPEN.value,
        coerce=as_enum(JoinPolicy),
    )
    visibility = RadioField(
        _l("Who can see the group page"),
        choices=options(
            [
                (Visibility.PUBLIC.value, _l("Everyone")),
                (Visibility.MEMBERS.value, _l("Members only")),
            ]
        ),
        default=Visibility.PUBLIC.value,
        coerce=as_enum(Visibility),
    )

    signup_opens_days_before = IntegerField(
        _l("Sign-up opens (days before)"),
        default=60,
        validators=[required(), number_range(0, 365)],
    )
    signup_closes_hours_before = IntegerField(
        _l("Sign-up closes (hours before)"),
        default=0,
        validators=[required(), number_range(0, 720)],
    )
    self_cancel_hours_before = IntegerField(
        _l("Members can cancel until (hours before)"),
        default=24,
        validators=[required(), number_range(0, 720)],
        description=_l("After that, members ask an organizer."),
    )
    no_show_limit = IntegerField(
        _l("No-shows before sign-ups need approval"),
        validators=[Optional(), number_range(1, 100)],
        description=_l("Leave empty for no limit."),
    )
    reminder_lead_hours = StringField(
        _l("Reminders (hours before)"),
        default="144,24",
        validators=[Length(max=64)],
        description=_l("Comma-separated, e.g. 144,24 for 6 days and 1 day before. Empty: none."),
    )

    fill_mode = RadioField(
        _l("How places are filled"),
        choices=options(
            [
                (FillMode.FIRST_COME.value, _l("First come: members sign up for places")),
                (
                    FillMode.FORMED.value,
                    _l("Organizers form the team: members say they can help"),
                ),
            ]
        ),
        default=FillMode.FIRST_COME.value,
        coerce=as_enum(FillMode),
        description=_l("Each role can differ (Roles). Roles that need approval stay by request."),
    )
    team_days_before = SettingNumberField(
        _l("Suggest the team (days before)"),
        default=10,
        # Left out (an older form, a script): the group keeps its setting.
        validators=[Optional(), number_range(1, 60)],
        description=_l(
            "When the team is formed by the organizers, they get the suggested team by "
            "email this many days before each session."
        ),
    )

    participants_open_to_all = BooleanField(
        _l("Anyone with an account may register as a participant (not only members)"),
        description=_l("Members can always register when a session takes participants."),
    )

    def validate_reminder_lead_hours(self, field):
        parts = [p.strip() for p in (field.data or "").split(",") if p.strip()]
        if not all(is_ascii_number(p) and 1 <= int(p) <= 720 for p in parts) or len(parts) > 5:
            raise ValidationError(_l("Give up to 5 whole hours from 1 to 720, e.g. 144,24."))
        field.data = ",".join(str(h) for h in sorted({int(p) for p in parts}, reverse=True))

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.group = group
        if group is None:
            # A new group may leave its address to us: it is made from the name on saving.
            self.slug.validators = [Optional(), Length(max=64)]
            self.slug.flags.required = False
            self.slug.description = _l(
                "Lower-case letters, digits and hyphens; the page will be /g/<address>. "
                "Leave it empty to have one made from the group's name."
            )

    def validate_slug(self, field):
        field.data = (field.data or "").strip().lower()
        if not SLUG_RE.match(field.data):
            raise ValidationError(_l("Use lower-case letters, digits and hyphens."))
        if slug_taken(db.session, field.data, except_group=self.group):
            raise ValidationError(_l("This address is taken. Choose another."))


FILL_MODE_NAMES = {
    FillMode.FIRST_COME: _l("first come"),
    FillMode.FORMED: _l("organizers form the team"),
}

ANCHOR_CHOICES = options(
    [
        (Anchor.START.value, _l("the session's start")),
        (Anchor.END.value, _l("the session's end")),
    ]
)


class RoleTypeForm(Form):
    """A role's defaults, named as the RoleType's columns (`form.populate_obj(role_type)`)."""

    name = TrimmedStringField(_l("Role name"), validators=[required(), Length(max=80)])
    description = TextAreaField(_l("What the role does"), default="", validators=[Length(max=2000)])
    default_headcount = IntegerField(
        _l("People needed"),
        default=1,
        validators=[required(), number_range(0, 500)],
    )
    start_offset_minutes = IntegerField(
        _l("Starts (minutes)"),
        default=0,
        validators=[required(), number_range(-1440, 1440)],
    )
    start_anchor = SelectField(
        _l("relative to"), choices=ANCHOR_CHOICES, default="start", coerce=as_enum(Anchor)
    )
    end_offset_minutes = IntegerField(
        _l("Ends (minutes)"),
        default=0,
        validators=[required(), number_range(-1440, 1440)],
    )
    end_anchor = SelectField(
        _l("relative to"), choices=ANCHOR_CHOICES, default="end", coerce=as_enum(Anchor)
    )
    requires_approval = BooleanField(_l("Sign-ups need an organizer's approval"))
    fill_mode = RadioField(
        _l("How places are filled"),
        choices=options(
            [
                ("", _l("As the group")),
                (FillMode.FIRST_COME.value, _l("First come")),
                (FillMode.FORMED.value, _l("Organizers form the team")),
            ]
        ),
        default="",
        # The model holds None (as the group) or a FillMode, as the radio's "" or mode's value.
        coerce=as_enum(FillMode),
        description=_l("A role that needs approval stays by request, whatever is chosen here."),
    )

    def __init__(self, *args, group=None, **kwargs):
        super().__init__(*args, **kwargs)
        if group is not None:
            # "As the group (first come)": the group's mode as it stands today.
            current = FILL_MODE_NAMES[FillMode(group.fill_mode)]
            self.fill_mode.choices = options(
                [
                    ("", _l("As the group (%(mode)s)", mode=current)),
                    *[(c.value, c.label) for c in self.fill_mode.choices[1:]],
                ]
            )

    def validate_end_anchor(self, field):
        if self.start_anchor.data == "end" and field.data == "start":
            raise ValidationError(
                _l("A role that starts after the session ends cannot end relative to its start.")
            )

    def validate_end_offset_minutes(self, field):
        if (
            self.start_anchor.data == self.end_anchor.data
            and self.start_offset_minutes.data is not None
            and field.data is not None
            and field.data <= self.start_offset_minutes.data
        ):
            raise ValidationError(_l("The role must end after it starts."))


class BuiltInRoleTypeForm(RoleTypeForm):
    # A built-in role keeps its translated name until an organizer gives it one.
    name = TrimmedStringField(
        _l("Role name"),
        validators=[Optional(), Length(max=80)],
        description=_l("Leave empty to show the standard name in each reader's language."),
    )


class MemberActionForm(Form):
    action = SelectField(
        choices=options(
            [
                ("approve", _l("Approve")),
                ("decline", _l("Decline")),
                ("promote", _l("Make co-organizer")),
                ("demote", _l("Make member")),
                ("remove", _l("Remove from group")),
            ]
        )
    )
