"""The API's rules, added at start-up; their views' modules are imported by the first API
request. Those modules bring pydantic, the shapes and Spectree: ~600 M instructions (~80 ms)
of every worker's create_app() for an API most workers seldom answer (issue 13).

Each rule is written here, not on its view: adding it must not import the view. The order
is the OpenAPI document's (and its docs page's)."""

from functools import cache
from importlib import import_module

from flask import current_app

from studygroup.api import bp
from studygroup.api import hooks as _hooks  # noqa: F401  (attaches the hooks: no pydantic)

# module: (method, rule, view) of each of its operations
OPERATIONS = {
    "docs": (("GET", "/openapi.json", "openapi_json"), ("GET", "/docs", "docs")),
    "groups": (("GET", "/groups", "list_groups"), ("GET", "/groups/<slug>", "get_group")),
    "me": (
        ("GET", "/me/schedule", "my_schedule"),
        ("GET", "/me/feeds", "my_feeds"),
        ("GET", "/me/coworkers", "my_coworkers"),
    ),
    "places": (
        ("POST", "/groups/<slug>/slots/<int:slot_id>/signup", "sign_up_for"),
        ("POST", "/groups/<slug>/places/<int:place_id>/cancel", "cancel_a_place"),
        ("POST", "/groups/<slug>/sessions/<int:session_id>/can-help", "say_i_can_help"),
    ),
    "organize": (
        ("POST", "/groups/<slug>/sessions", "post_session"),
        ("POST", "/groups/<slug>/series", "post_series"),
        ("POST", "/groups/<slug>/sessions/<int:session_id>/cancel", "cancel_a_session"),
        ("PATCH", "/groups/<slug>/sessions/<int:session_id>", "edit_session"),
        ("POST", "/groups/<slug>/slots/<int:slot_id>/assign", "assign_member"),
        ("POST", "/groups/<slug>/places/<int:place_id>/attendance", "mark_attendance"),
        (
            "POST",
            "/groups/<slug>/sessions/<int:session_id>/places/<int:place_id>/move",
            "move_a_place",
        ),
        ("POST", "/groups/<slug>/places/<int:place_id>/approve", "approve_request"),
        ("POST", "/groups/<slug>/places/<int:place_id>/decline", "decline_request"),
    ),
    "sessions": (
        ("GET", "/groups/<slug>/sessions", "list_sessions"),
        ("GET", "/groups/<slug>/sessions/<int:session_id>", "get_session"),
    ),
}


@cache
def views() -> dict:
    """Every operation's view by endpoint, its module imported (in the order above, which is
    Spectree's order of the document's schemas). Imports are once a process, under Python's
    import lock; two threads racing here build the same dict."""
    found = {}
    for module_name, operations in OPERATIONS.items():
        module = import_module(f"studygroup.api.{module_name}")
        for _method, _rule, name in operations:
            found[f"{bp.name}.{name}"] = getattr(module, name)
    return found


def _imported_on_first_request(endpoint: str):
    def view(**values):
        loaded = views()
        # This app's later requests go straight to the views, and Spectree, writing the
        # document, finds its decorated functions where it looks: in app.view_functions.
        current_app.view_functions.update(loaded)
        return loaded[endpoint](**values)

    view.__name__ = endpoint.rsplit(".", 1)[1]
    return view


for _module_name, _operations in OPERATIONS.items():
    for _method, _rule, _name in _operations:
        bp.add_url_rule(
            _rule, _name, _imported_on_first_request(f"{bp.name}.{_name}"), methods=[_method]
        )
