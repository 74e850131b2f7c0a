"""Form pieces shared by features."""

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectChoice,
    SelectField,
    SelectFieldBase,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.core import UnboundField
from wtforms.utils import unset_value
from wtforms.validators import InputRequired, NumberRange, StopValidation

from studygroup.db import utcnow
from studygroup.input import DATABASE_INT_MAX, DATABASE_INT_MIN, database_int
from studygroup.zones import is_timezone, timezone_choices

# Control characters other than tab and newlines: PostgreSQL refuses NUL in text, and none of
# them belongs in a name, a title or a description.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control_characters(value):
    return _CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


def _one_line(value):
    """Single-line fields (names, titles) also lose line breaks: they end up in mail headers."""
    if not isinstance(value, str):
        return value
    return " ".join(_without_control_characters(value).splitlines())


_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,100}")


class WholeNumberField(IntegerField):
    """A whole number in ASCII digits that the database can store. WTForms' IntegerField takes
    whatever `int()` takes ("１２", "١٢", "1_0", " 5") and any size."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        if _WHOLE_NUMBER.fullmatch(valuelist[0]) is None:
            self.data = None
            raise ValueError(_l("Enter a whole number in digits 0-9."))
        # A huge number is kept for the field's own range check to name the range.
        self.data = int(valuelist[0])

    def post_validate(self, form, validation_stopped):
        in_range = self.data is None or DATABASE_INT_MIN <= self.data <= DATABASE_INT_MAX
        if not in_range and not self.errors:
            raise ValidationError(_l("This number is too large."))


class Form(FlaskForm):
    """The base of every form: CSRF (Flask-WTF), text cleaned of control characters, and
    numbers in ASCII digits within the database's integer, whichever field a form uses."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            if unbound_field.field_class is IntegerField:
                unbound_field = UnboundField(
                    WholeNumberField,
                    *unbound_field.args,
                    name=unbound_field.name,
                    **unbound_field.kwargs,
                )
            if (
                issubclass(unbound_field.field_class, SelectFieldBase)
                and unbound_field.kwargs.get("coerce") is int
            ):
                # Choices by id: "２" or 2**31 is no choice, not a database error.
                kwargs = {**unbound_field.kwargs, "coerce": database_int}
                return UnboundField(
                    unbound_field.field_class,
                    *unbound_field.args,
                    name=unbound_field.name,
                    **kwargs,
                ).bind(form=form, **options)
            if issubclass(unbound_field.field_class, StringField):
                clean = (
                    _without_control_characters
                    if issubclass(unbound_field.field_class, TextAreaField)
                    else _one_line
                )
                filters = [*unbound_field.kwargs.get("filters", ()), clean]
                return unbound_field.bind(form=form, filters=filters, **options)
            return unbound_field.bind(form=form, **options)


EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2100, 12, 31)


def plausible_date(form, field):
    """Dates far outside a study group's life are typing mistakes (and overflow date maths)."""
    if field.data is not None and not EARLIEST_DATE <= field.data <= LATEST_DATE:
        raise ValidationError(_l("Choose a date between 2000 and 2100."))


class TimezoneField(SelectField):
    """An IANA zone, offered by its name in the reader's language (studygroup.zones)."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label or _l("Time zone"), **kwargs)
        self.validate_choice = False

    def process(self, formdata, data=unset_value, extra_filters=None):
        super().process(formdata, data, extra_filters)
        # Made once the value is known: a stored zone missing from the list is kept in it.
        self.choices = timezone_choices(utcnow(), current=self.data)

    def pre_validate(self, form):
        if not self.data or not is_timezone(self.data):
            raise ValidationError(_l("Choose a time zone from the list, e.g. Asia/Tokyo."))


def strip(value):
    return value.strip() if isinstance(value, str) else value


def none_if_blank(value):
    """Blank as None, for a column that may be None (a choice field's `coerce`, a filter)."""
    return value or None


def as_enum(enum_class):
    """A choice field's `coerce` that gives the model's enum member, so that `populate_obj`
    copies the right type: "" (a blank choice, e.g. "as the group") is None, and a value that
    is no member stays as sent, for the field's own "Not a valid choice"."""

    def coerce(value):
        if value is None or value == "":
            return None
        try:
            return enum_class(value)
        except ValueError:
            return value

    return coerce


class TrimmedStringField(StringField):
    """Saved without the spaces around it; shown again as typed when the form comes back."""

    def populate_obj(self, obj, name):
        setattr(obj, name, strip(self.data))


def options(pairs) -> list[SelectChoice]:
    """`[(value, label), ...]` as the choices WTForms wants."""
    return [SelectChoice(value, label) for value, label in pairs]


def language_choices():
    return options([("", _l("As my browser says")), ("ja", "日本語"), ("en", "English")])


class Required(InputRequired):
    """Like InputRequired, but spaces alone are no input either."""

    def __call__(self, form, field):
        super().__call__(form, field)
        if isinstance(field.data, str) and not field.data.strip():
            field.errors[:] = []
            raise StopValidation(self.message)


def required() -> Required:
    return Required(message=_l("Please fill this in."))


def number_range(low: int, high: int) -> NumberRange:
    return NumberRange(low, high, message=_l("Enter a number from %(min)d to %(max)d."))
