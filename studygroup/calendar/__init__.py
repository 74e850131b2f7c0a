"""Calendar feeds: a group's sessions, a member's places, one session or place as a file."""

from flask import Blueprint

bp = Blueprint("calendar", __name__, template_folder="templates")
