"""Settings for the test suite: the project's settings with a fixed key, fast hashing and
test-only folders, still honouring DATABASE_URL and CELERY_BROKER_URL so CI's second run
exercises PostgreSQL and Redis."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "insecure-key-for-the-test-suite-only")

from emolab.settings import *  # noqa: E402,F401,F403  (the project's settings, after SECRET_KEY above; some changed below)
from emolab.settings import (  # noqa: E402  (after SECRET_KEY)
    CELERY_BROKER_URL,
    EMOLAB_THROTTLE_DEFAULTS,
    VAR_DIR,
    filesystem_broker_options,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# A worker subprocess may be given its own (tests/models_app/conftest.py: prediction_worker).
MEDIA_ROOT = Path(os.environ.get("EMOLAB_TEST_MEDIA_ROOT") or VAR_DIR / "test-media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# One queue per test session, shared with the worker subprocesses the tests start (they inherit the
# environment), so a test never consumes or leaves messages on another run's or a demo's queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("EMOLAB_TEST_QUEUE", f"emolab-test-{os.getpid()}")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # Keep the tests' messages apart from a demo that may run on the same checkout.
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "test-celery")

# One process runs the tests (and their live servers): a per-process cache is right here.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "emolab-tests"}}
# Generous API limits, so that the suite's many calls from one address (and the concurrency
# tests) never meet a throttle; tests/test_throttling.py puts the production defaults back.
EMOLAB_THROTTLE_RATES = {scope: "100000/min" for scope in EMOLAB_THROTTLE_DEFAULTS}
