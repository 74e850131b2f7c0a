"""Introductions (紹介): a member introduces two people they know; both must accept.

A room of its own above `coworking/`: it asks who co-worked with whom and who organizes
which group, and changes neither.
"""

from flask import Blueprint

bp = Blueprint("introductions", __name__, template_folder="templates")
