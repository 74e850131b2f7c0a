"""Participants (参加者): people who come to a session, apart from its staff.

A room beside `signups/`: it shares the session's row lock (`studygroup.db.lock_row`) and the
outbox (`studygroup.mail`), never copies them, and never counts in co-working.
"""

from flask import Blueprint

bp = Blueprint("participants", __name__, template_folder="templates")
