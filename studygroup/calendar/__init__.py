"""Calendar feeds: a group's sessions, a member's places, one session or place as a file."""

import re

from flask import Blueprint

bp = Blueprint("calendar", __name__, template_folder="templates")

# The subscription feeds' URLs (routes.py), known before routing: calendar clients poll them
# without cookies, and a shared cache may keep the public one, so a request for one never
# reads or sets a session (studygroup.cookie_session).
FEED_PATHS = re.compile(r"/g/[^/]+/calendar\.ics|/calendar/(?:group|member)/[^/]+\.ics")
