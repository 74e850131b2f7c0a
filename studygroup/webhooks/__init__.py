from flask import Blueprint, current_app

from studygroup.extensions import db

bp = Blueprint("webhooks", __name__, template_folder="templates")


@bp.after_app_request
def _send_after_response(response):
    """Deliveries a request's committed change queued go out once its response is sent."""
    # Here: every module of the package (its models too) imports this one first.
    from studygroup.webhooks.delivery import send_committed
    from studygroup.webhooks.services import COMMITTED

    if not db.session.registry.has():
        return response
    ids = db.session.info.pop(COMMITTED, None)
    if ids:
        app = current_app._get_current_object()
        response.call_on_close(lambda: send_committed(app, ids))
    return response
