"""Thank-you notes (お礼のメッセージ): after a session, a short note to someone who worked it too.

A room of its own above `coworking/`: it asks who worked a session, and never changes a place.
"""

from flask import Blueprint

bp = Blueprint("thanks", __name__, template_folder="templates")
