"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
graceful_timeout = 30
# studygroup logs each request itself, as JSON, with tokens in paths redacted; gunicorn's own
# access log would print full URLs (and so invitation or calendar tokens).
accesslog = None
errorlog = "-"
# Behind a reverse proxy on the same host; set STUDYGROUP_PROXY_FIX_X_FOR etc. as well.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# No preload_app: loaded in the master, the app's memory is shared copy-on-write, but a
# worker's VmRSS counts shared pages all the same, and reference counting copies most of them
# back anyway (2 workers, 4,000 mixed requests: VmRSS 118-121 MB with or without; PSS 87 MB a
# worker plus a 46 MB master with, 101 MB a worker and 15 MB without). It would also keep
# `kill -HUP` from loading new code. What keeps workers small is what they never import
# (tests/test_startup.py, studygroup/forked.py).


def post_worker_init(worker):
    # create_app() leaves the mappers unconfigured (tests/test_startup.py): configured here,
    # before the worker takes a request, no visitor waits for them, and the freeze below
    # covers what configuring builds. (Imported here: the master loads none of the app.)
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    # So are the engines (and with PostgreSQL's, psycopg: studygroup/extensions.py).
    app = getattr(worker, "wsgi", None)
    if app is not None:
        from studygroup.extensions import db

        with app.app_context():
            db.engines  # noqa: B018  (made on first use)
    # The loaded app (modules, templates, mappers: ~170,000 objects) never becomes garbage.
    # Frozen, full collections scan only what requests create: on the city-scale co-worker
    # page the collector's pauses (60-130 ms, one GET in ten) go, and p95 halves
    # (bench/coworkers.py, which freezes the same way after its warm-up).
    gc.freeze()
