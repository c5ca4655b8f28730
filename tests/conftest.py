"""Shared fixtures. Tests make their own data: nothing here reads ../shared."""

import os
import socket
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from tests.factories import make_user


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=3):
            return True
    except OSError:
        return False


def pytest_sessionstart(session):
    """With EMOLAB_REQUIRE_SERVICES=1 (CI's second run) the suite must really run on PostgreSQL
    and Redis: stop at once, loudly, if they are not configured or not reachable."""
    if os.environ.get("EMOLAB_REQUIRE_SERVICES") != "1":
        return
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    problems = []
    if not database_url.startswith(("postgres://", "postgresql://")):
        problems.append(f"DATABASE_URL is not PostgreSQL: {database_url!r}")
    elif not _reachable(database_url, 5432):
        problems.append(f"PostgreSQL is not reachable at {database_url}")
    if not broker_url.startswith("redis://"):
        problems.append(f"CELERY_BROKER_URL is not Redis: {broker_url!r}")
    elif not _reachable(broker_url, 6379):
        problems.append(f"Redis is not reachable at {broker_url}")
    if problems:
        raise pytest.UsageError("EMOLAB_REQUIRE_SERVICES=1 but: " + "; ".join(problems))


@pytest.fixture
def admin_user(db):
    return make_user("admin")


@pytest.fixture
def researcher(db):
    return make_user("researcher")


@pytest.fixture
def assessor(db):
    return make_user("assessor")


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def media_root(settings, tmp_path):
    """A private MEDIA_ROOT for a test that writes files."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker subprocess on the configured broker, reading and writing the test database.

    Tests that use it must commit their data (it is a transactional_db test) because the worker
    sees the database through its own connection.
    """
    from tests.worker import WorkerProcess

    worker = WorkerProcess().start()
    yield worker
    worker.stop()
