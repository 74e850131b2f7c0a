from flask import Blueprint, current_app

bp = Blueprint("webhooks", __name__, template_folder="templates")


@bp.after_app_request
def _send_after_response(response):
    """Deliveries a request's committed change queued go out once its response is sent."""
    from studygroup.extensions import db
    from studygroup.webhooks.delivery import send_committed
    from studygroup.webhooks.services import COMMITTED

    if not db.session.registry.has():
        return response
    ids = db.session.info.pop(COMMITTED, None)
    if ids:
        app = current_app._get_current_object()
        response.call_on_close(lambda: send_committed(app, ids))
    return response
