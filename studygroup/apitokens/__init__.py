"""Personal API tokens (issue 14): a member's bearer tokens for the JSON API, and the API's
rate limit.

A room of its own above `auth/` and `groups/` (it asks whether a member organizes a group, to
offer the organize scope). The API (`studygroup.api`) is the door that asks it who a request
is (`services.authenticate`) and whether the request may go on (`limits.take`).
"""

from flask import Blueprint

bp = Blueprint("apitokens", __name__, template_folder="templates")
