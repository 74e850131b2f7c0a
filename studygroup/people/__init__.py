""" "Who knows X?" (詳しい人を探す): the members of one's groups found by their skills and
interests, nearest first (issue 10, item 3).

Sits above `coworking/` with `relationships/` and asks it questions: the tie tables and the
rules of who may see whose co-worker page."""

from flask import Blueprint

bp = Blueprint("people", __name__, template_folder="templates")
