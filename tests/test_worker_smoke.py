"""The broker path itself: a message sent by this process is consumed by a real worker subprocess
(kombu's filesystem transport on the defaults, Redis in CI's second run)."""

import pytest
from django.conf import settings

from emolab.celery import app
from tests.worker import wait_until


@pytest.mark.worker
def test_a_real_worker_consumes_a_message_from_the_configured_broker(celery_worker):
    result = app.send_task("celery.backend_cleanup", queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    wait_until(
        lambda: f"Task celery.backend_cleanup[{result.id}] succeeded" in celery_worker.log(),
        timeout=60,
        message="the worker to run the task:\n" + celery_worker.log(),
    )
    transport = app.connection().transport_cls
    expected = "redis" if settings.CELERY_BROKER_URL.startswith("redis://") else "filesystem"
    assert expected in str(transport)
