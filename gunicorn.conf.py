"""gunicorn's configuration, the one file that docker-compose, the README and the benchmarks use.

Every value can be overridden from the environment, so one deployment can tune it without
editing code: `gunicorn -c gunicorn.conf.py emolab.wsgi:application`.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Web workers only read headers, query the database and enqueue; CPU work runs on Celery workers.
# Two per core keeps a core busy while the other worker waits on the database.
workers = int(os.environ.get("GUNICORN_WORKERS") or max(2, 2 * multiprocessing.cpu_count()))
# A request that runs longer than this is a bug (decoding and models run on workers), so the
# worker is recycled rather than left to hold a slot.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT") or 30)
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 5)
# Bounded request lines and headers: an oversized header is refused before Django sees it.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE") or 4094)
limit_request_fields = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELDS") or 100)
limit_request_field_size = int(os.environ.get("GUNICORN_LIMIT_REQUEST_FIELD_SIZE") or 8190)
# Recycle workers now and then so a slow leak cannot grow without bound; jitter avoids all
# workers restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 5000)
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER") or 500)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "emolab-web"
# Workers signal that they are alive through a file in this folder; on a container's overlay
# filesystem writes can stall for seconds and get healthy workers killed, memory never does.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
# Request bodies are not limited here: nginx refuses what is over client_max_body_size and
# Django what is over its limits (a JSON 413 on the API), see docs/deploy.md.


def when_ready(server):
    """Import the whole site once, in the master, before the workers are forked.

    Django imports the views (and with them scipy, torch, matplotlib) on a worker's first request:
    seconds on a quiet machine, 15 s and more under load, counted against ``timeout``, and paid again
    by every worker that ``max_requests`` recycles. Forked workers inherit the master's imported
    modules, so each starts ready. A broken configuration (no SECRET_KEY) stops the start here.
    """
    import time

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
    started = time.monotonic()
    django.setup()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (imports every view module)
    server.log.info("emolab imported in %.1f s; forking the workers", time.monotonic() - started)
