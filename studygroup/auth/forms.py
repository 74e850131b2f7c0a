from datetime import date

from babel.dates import format_date
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import Email, Length

from studygroup.auth.models import is_birthday
from studygroup.auth.services import (
    MAX_PASSWORD_LENGTH,
    MAX_SKILLS,
    MIN_PASSWORD_LENGTH,
    HashCost,
    check_password,
    email_taken,
    parse_skills,
    password_problem,
)
from studygroup.extensions import db
from studygroup.forms import (
    Form,
    TimezoneField,
    TrimmedStringField,
    language_choices,
    none_if_blank,
    options,
    required,
    strip,
)
from studygroup.names import READING_LENGTH, is_reading

PASSWORD_MESSAGES = {
    "too_short": _l("Use at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
    "too_long": _l("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH),
    "common": _l("This password is among the most common leaked passwords. Choose another."),
    "personal": _l("Do not use your email or name as the password."),
}


class NewPasswordMixin:
    def check_new_password(self, field, email: str, display_name: str = ""):
        problem = password_problem(field.data or "", email=email, display_name=display_name)
        if problem:
            raise ValidationError(PASSWORD_MESSAGES[problem])


class RegisterForm(NewPasswordMixin, Form):
    display_name = StringField(
        _l("Display name"),
        validators=[required(), Length(max=80)],
        description=_l("Shown to other members."),
    )
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[required(), Email(check_deliverability=False), Length(max=254)],
        description=_l("Used to log in. Never shown to other members."),
    )
    password = PasswordField(
        _l("Password"),
        validators=[required()],
        description=_l("8 to 64 characters."),
    )
    locale = SelectField(_l("Language"), choices=language_choices, default="")

    def validate_email(self, field):
        if email_taken(db.session, field.data):
            raise ValidationError(_l("An account with this email already exists. Log in instead."))

    def validate_password(self, field):
        self.check_new_password(field, self.email.data or "", self.display_name.data or "")


class LoginForm(Form):
    email = EmailField(_l("Email"), filters=[strip], validators=[required(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[required(), Length(max=1024)])
    remember = BooleanField(_l("Keep me logged in on this device (30 days)"))


def month_name(month: int) -> str:
    locale = str(get_locale())
    return format_date(date(2000, month, 1), "MMMM", locale=locale)


def _whole_number(value) -> int | None:
    return int(value) if value and str(value).isascii() and str(value).isdigit() else None


def _birthday_months():
    return options([("", _l("Not given")), *((str(m), month_name(m)) for m in range(1, 13))])


def _birthday_days():
    return options([("", _l("Not given")), *((str(d), str(d)) for d in range(1, 32))])


class SkillsField(StringField):
    """Skills as typed, "Python, photography"; a user's skill rows are shown that way."""

    def process_data(self, value):
        if value is not None and not isinstance(value, str):
            value = ", ".join(skill.name for skill in value)
        super().process_data(value)


class ProfileForm(Form):
    """A member's profile, named as the User's columns: `form.populate_obj(user)` saves it."""

    display_name = TrimmedStringField(_l("Display name"), validators=[required(), Length(max=80)])
    reading = StringField(
        _l("Reading of your name (optional)"),
        filters=[strip, none_if_blank],
        validators=[
            Length(
                max=READING_LENGTH, message=_l("Use at most %(n)d characters.", n=READING_LENGTH)
            )
        ],
        description=_l("In kana, e.g. はせがわ ひかり. Lists of members are sorted by it."),
    )
    bio = TextAreaField(_l("About me"), validators=[Length(max=2000)])
    skills = SkillsField(
        _l("Skills and interests"),
        description=_l("Separate with commas, e.g. Python, infrastructure, photography."),
        validators=[Length(max=1000)],
    )
    locale = SelectField(_l("Language"), choices=language_choices, coerce=none_if_blank)
    timezone = TimezoneField()
    email_signups = BooleanField(_l("My sign-ups, cancellations and requests"))
    email_waitlist = BooleanField(_l("Waitlist: when I get a place"))
    email_session_changes = BooleanField(_l("Changes to sessions I help at"))
    email_reminders = BooleanField(_l("Reminders before sessions I help at"))
    email_organizer_requests = BooleanField(_l("Requests to answer in groups I organize"))
    birthday_month = SelectField(_l("Birthday: month (optional)"), choices=_birthday_months)
    birthday_day = SelectField(
        _l("Birthday: day (optional)"),
        choices=_birthday_days,
        description=_l(
            "No year. Private unless you choose to show it to the people you worked with "
            "(on your co-worker page). A 29 February birthday shows on 28 February in other "
            "years."
        ),
    )
    email_thanks = BooleanField(_l("Thank-you notes from people I worked with"))
    email_birthday_digest = BooleanField(
        _l("Weekly: birthdays this week among people I worked with")
    )
    email_introductions = BooleanField(
        _l("Introductions: when someone introduces me, asks me for one, or both accepted")
    )
    email_announcements = BooleanField(
        _l("Announcements from organizers"),
        description=_l("Without the email, you still find them on the session or group page."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in (self.birthday_month, self.birthday_day):
            if field.data is None:  # WTForms does not coerce None: "Not given"
                field.data = ""

    # Not copied as they are: skills are rows of their own (set_skills), the birthday is two
    # numbers (birthday()).
    NOT_COPIED = frozenset({"skills", "birthday_month", "birthday_day"})

    def populate_obj(self, user):
        for name, field in self._fields.items():
            if name not in self.NOT_COPIED:
                field.populate_obj(user, name)
        user.birthday_month, user.birthday_day = self.birthday()

    def validate_reading(self, field):
        if not is_reading(field.data or ""):
            raise ValidationError(
                _l(
                    "Write the reading in hiragana or katakana (Latin letters for a name in "
                    "Latin letters)."
                )
            )

    def validate_skills(self, field):
        if len(parse_skills(field.data or "")) > MAX_SKILLS:
            raise ValidationError(_l("At most %(n)d skills.", n=MAX_SKILLS))

    def validate_birthday_month(self, field):
        if field.data and not self.birthday_day.data:
            raise ValidationError(_l("Choose the day too, or neither."))

    def validate_birthday_day(self, field):
        if field.data and not self.birthday_month.data:
            raise ValidationError(_l("Choose the month too, or neither."))
        month = _whole_number(self.birthday_month.data)
        day = _whole_number(field.data)
        # A month that is not one of the choices has its own message next to it already.
        if day is not None and month in range(1, 13) and not is_birthday(month, day):
            raise ValidationError(
                _l("%(month)s has no day %(day)d.", month=month_name(month), day=day)
            )

    def birthday(self) -> tuple[int | None, int | None]:
        """(month, day), or (None, None) when not given (the form checked both or neither)."""
        if self.birthday_month.data and self.birthday_day.data:
            return int(self.birthday_month.data), int(self.birthday_day.data)
        return None, None


class PasswordChangeForm(NewPasswordMixin, Form):
    current_password = PasswordField(_l("Current password"), validators=[required()])
    new_password = PasswordField(
        _l("New password"), validators=[required()], description=_l("8 to 64 characters.")
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_current_password(self, field):
        if not check_password(self.user, field.data, HashCost.from_config(current_app.config)):
            raise ValidationError(_l("This is not your current password."))

    def validate_new_password(self, field):
        self.check_new_password(field, self.user.email, self.user.display_name)


class ForgotPasswordForm(Form):
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[required(), Email(check_deliverability=False), Length(max=254)],
        description=_l("The address you log in with."),
    )


class ResetPasswordForm(NewPasswordMixin, Form):
    """A new password from a reset or welcome link: the registration rule, typed twice (no
    current password to check it against, so a typo would lock them out again)."""

    new_password = PasswordField(
        _l("New password"),
        validators=[required()],
        description=_l("8 to 64 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("New password again"),
        validators=[required()],
        render_kw={"autocomplete": "new-password"},
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_new_password(self, field):
        self.check_new_password(field, self.user.email, self.user.display_name)

    def validate_confirm_password(self, field):
        if self.new_password.data and field.data != self.new_password.data:
            raise ValidationError(_l("The two passwords are not the same."))
