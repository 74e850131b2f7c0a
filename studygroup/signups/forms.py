from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Length

from studygroup.forms import Form, options, required
from studygroup.sessions.forms import MultiCheckboxField
from studygroup.signups.availability_changes import NOTE_MAX

PLACE_ACTIONS = (
    "remove",
    "promote",
    "up",
    "down",
    "approve",
    "decline",
    "worked",
    "no_show",
    "move",
)


class SignUpForm(Form):
    """Sign up for one role; talk fields are used by roles that need approval."""

    talk_title = StringField(
        _l("Title of your talk or what you offer"), validators=[Length(max=200)]
    )
    talk_abstract = TextAreaField(_l("A short abstract"), validators=[Length(max=2000)])


class PlaceActionForm(Form):
    action = SelectField(choices=options((a, a) for a in PLACE_ACTIONS))
    to_slot_id = SelectField(_l("Move to"), coerce=int, validate_choice=False, default=0)
    # What the organizer saw and confirmed (`signups.organizing.Concerns.key`), if asked.
    confirmed = HiddenField(validators=[Length(max=500)])

    def __init__(self, *args, member_name: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.member_name = member_name  # whose place it is, for the messages

    def validate_to_slot_id(self, field):
        """Only a move needs the role to move to; any other action ignores the field."""
        if self.action.data != "move":
            field.errors[:] = []
        elif not field.data or field.errors:
            field.errors[:] = []
            raise ValidationError(_l("Choose the role to move %(name)s to.", name=self.member_name))


class AssignForm(Form):
    slot_id = SelectField(_l("Role"), coerce=int, validators=[required()])
    user_id = SelectField(_l("Member"), coerce=int, validators=[required()])
    confirmed = HiddenField(validators=[Length(max=500)])


class OfferForm(Form):
    """Offer one's place; the note is optional ("I can explain the reception desk")."""

    note = StringField(_l("A note for whoever takes it (optional)"), validators=[Length(max=200)])


class TeamSwapForm(Form):
    """Swap a member of the suggested team for another who can help (`forming.swap`)."""

    slot_id = HiddenField()
    out_user_id = HiddenField()
    # Who may take the place is the service's answer (`forming.swap`), not a fixed list.
    user_id = SelectField(
        _l("Swap for"), coerce=int, validators=[required()], validate_choice=False
    )


class TeamAcceptForm(Form):
    # Names the team shown (`forming.Team.key`): accepting another asks again.
    key = HiddenField(validators=[Length(max=64)])


class AvailabilityForm(Form):
    """ "I can help" with a session: any role or the roles ticked, a note, and whether the
    member is usually available for the session's series. `role_choices`: (role type id,
    label) of the session's formed roles."""

    any_role = RadioField(
        _l("Which roles"),
        choices=options([("any", _l("Any role")), ("roles", _l("The roles I tick"))]),
        default="any",
    )
    roles = MultiCheckboxField(_l("Roles I prefer"), coerce=int, default=[])
    note = StringField(
        _l("Note (optional)"),
        validators=[Length(max=NOTE_MAX)],
        description=_l('For example "only until 11:00".'),
    )
    usually = BooleanField(_l("Usually available for this series"))

    def __init__(self, *args, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.roles.choices = options((str(rid), label) for rid, label in role_choices)

    def validate_roles(self, field):
        if self.any_role.data == "roles" and not field.data:
            raise ValidationError(_l("Choose at least one role, or any role."))
