"""Introductions (紹介): a member introduces two people they know; both must accept.

A room of its own above `coworking/`: it asks who co-worked with whom and who organizes
which group, and changes neither.
"""

import sqlalchemy as sa
from flask import Blueprint

bp = Blueprint("introductions", __name__, template_folder="templates")


@bp.app_template_global()
def introductions_waiting(user) -> int:
    """The header's count when it came with the member (`auth.routes.load_user`), else 0: the
    header never asks the database itself (an error page after the database failed, a page
    after a rollback)."""
    return sa.inspect(user).dict.get("introductions_waiting") or 0
