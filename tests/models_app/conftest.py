"""Fixtures of the models app's tests: one real Celery worker shared by a module's prediction tests."""

import pytest

from tests.worker import WorkerProcess


@pytest.fixture(scope="module")
def prediction_worker(django_db_setup, tmp_path_factory):
    """A real worker on the configured broker and the test database, started once per module
    (a start costs seconds: torch, the task modules). Its MEDIA_ROOT is fixed when it starts, so
    the tests that use it share that folder (``worker_media``)."""
    media = tmp_path_factory.mktemp("worker-media")
    worker = WorkerProcess(extra_env={"EMOLAB_TEST_MEDIA_ROOT": str(media)}).start()
    worker.media = media
    yield worker
    worker.stop()


@pytest.fixture
def worker_media(transactional_db, settings, prediction_worker):
    """MEDIA_ROOT shared with the module's worker; the POST waits long enough for its answer
    that a machine busy with other tests cannot turn an expected 200 into a 202."""
    settings.MEDIA_ROOT = prediction_worker.media
    settings.EMOLAB_PREDICT_WAIT_S = 60
    return prediction_worker.media
