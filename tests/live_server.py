"""A real WSGI server for browser tests: the app on a free port of 127.0.0.1, in a thread."""

import threading

from werkzeug.serving import WSGIRequestHandler, make_server

# Responses handed to the server in this request's thread, closed after the request whatever
# happened: werkzeug skips closing one when the browser drops the connection while it drains
# the request (a page left before a static file was read), and the file it holds then warns
# (ResourceWarning) at some later test's garbage collection.
_responses = threading.local()


class _CloseOnce:
    """A response that closes once, whoever asks first (its close runs the app's
    call_on_close work, such as sending an email, which must not run twice)."""

    def __init__(self, response):
        self.response = response
        self.closed = False

    def __iter__(self):
        return iter(self.response)

    def close(self):
        if not self.closed:
            self.closed = True
            if hasattr(self.response, "close"):
                self.response.close()


def _closing(app):
    def closing_app(environ, start_response):
        response = _CloseOnce(app(environ, start_response))
        _responses.open = [*getattr(_responses, "open", []), response]
        return response

    return closing_app


class QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request; errors are still logged. Closes the request's
    responses even when the client went away (see `_responses`)."""

    def log_request(self, code="-", size="-"):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        finally:
            for response in getattr(_responses, "open", []):
                response.close()
            _responses.open = []


class LiveServer:
    """`with LiveServer(app) as server:` serves `app` at `server.url` until the block ends."""

    def __init__(self, app):
        self.app = app
        self._server = make_server(
            "127.0.0.1", 0, _closing(app), threaded=True, request_handler=QuietRequestHandler
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
