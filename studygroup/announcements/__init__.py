"""Announcements (お知らせ): organizers write to a session's participants, staff, or the group."""

from flask import Blueprint

bp = Blueprint("announcements", __name__, template_folder="templates")
