from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import Length

from studygroup.announcements.services import BODY_MAX, SUBJECT_MAX
from studygroup.forms import Form, strip


def _too_long(n: int) -> Length:
    return Length(max=n, message=_l("Use at most %(n)d characters.", n=n))


class AnnouncementForm(Form):
    """Who gets it and what it says, in Japanese, English or both. Whether both subject and
    text of a language are there, and at least one language, is `check_texts`'s rule."""

    audience = RadioField(
        _l("Who gets it"),
        choices=[],
        description=_l(
            "Participants: those registered and those on the waitlist (not those who "
            "cancelled). Staff: members with a confirmed place in a role. Someone who is both "
            "gets it once."
        ),
    )
    subject_ja = StringField(
        _l("Subject (Japanese)"),
        filters=[strip],
        validators=[_too_long(SUBJECT_MAX)],
        render_kw={"maxlength": SUBJECT_MAX, "lang": "ja"},
    )
    body_ja = TextAreaField(
        _l("Text (Japanese)"),
        filters=[strip],
        validators=[_too_long(BODY_MAX)],
        render_kw={"maxlength": BODY_MAX, "rows": 8, "lang": "ja"},
    )
    subject_en = StringField(
        _l("Subject (English)"),
        filters=[strip],
        validators=[_too_long(SUBJECT_MAX)],
        render_kw={"maxlength": SUBJECT_MAX, "lang": "en"},
    )
    body_en = TextAreaField(
        _l("Text (English)"),
        filters=[strip],
        validators=[_too_long(BODY_MAX)],
        render_kw={"maxlength": BODY_MAX, "rows": 8, "lang": "en"},
    )
    # A digest of what the preview showed: "Send" sends only what was previewed.
    previewed = HiddenField()
