"""Reception check-in on the session's day (受付): a phone page, its JSON API, the services."""

from flask import Blueprint

bp = Blueprint("checkin", __name__, template_folder="templates")
