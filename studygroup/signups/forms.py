from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length

from studygroup.forms import Form, options, required

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


class AssignForm(Form):
    slot_id = SelectField(_l("Role"), coerce=int, validators=[required()])
    user_id = SelectField(_l("Member"), coerce=int, validators=[required()])
