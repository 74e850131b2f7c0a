"""A real WSGI server for browser tests: the app on a free port of 127.0.0.1, in a thread."""

import threading

from werkzeug.serving import WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request; errors are still logged."""

    def log_request(self, code="-", size="-"):
        pass


class LiveServer:
    """`with LiveServer(app) as server:` serves `app` at `server.url` until the block ends."""

    def __init__(self, app):
        self.app = app
        self._server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        # As a real deployment says where it is: emails link here, never to a request's Host.
        app.config["PUBLIC_BASE_URL"] = app.config.get("PUBLIC_BASE_URL") or self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="live-server", daemon=True
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
