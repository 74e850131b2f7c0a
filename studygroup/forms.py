"""Form pieces shared by features."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice, SelectField, ValidationError
from wtforms.validators import InputRequired, NumberRange

from studygroup.i18n import is_timezone, timezone_names


class TimezoneField(SelectField):
    def __init__(self, label=None, **kwargs):
        super().__init__(label or _l("Time zone"), **kwargs)
        self.choices = [SelectChoice(name) for name in timezone_names()]
        self.validate_choice = False

    def pre_validate(self, form):
        if not self.data or not is_timezone(self.data):
            raise ValidationError(_l("Choose a time zone from the list, e.g. Asia/Tokyo."))


def strip(value):
    return value.strip() if isinstance(value, str) else value


def options(pairs) -> list[SelectChoice]:
    """`[(value, label), ...]` as the choices WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def language_choices():
    return options([("", _l("As my browser says")), ("ja", "日本語"), ("en", "English")])


def required() -> InputRequired:
    return InputRequired(message=_l("Please fill this in."))


def number_range(low: int, high: int) -> NumberRange:
    return NumberRange(low, high, message=_l("Enter a number from %(min)d to %(max)d."))
