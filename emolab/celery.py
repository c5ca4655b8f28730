"""The Celery application. Tasks live in each app's tasks.py and stay thin: they load rows by id
and call services."""

import os

from celery import Celery
from celery.signals import worker_init
from django.db import transaction
from kombu.exceptions import OperationalError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")

app = Celery("emolab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class BrokerUnreachable(Exception):
    """The task could not be handed to the broker (down, refusing connections, unreachable)."""


class TaskQueueUnavailable(Exception):
    """A request's work could not be queued because the broker is unreachable (503: the fault is
    the service's, and passes). What the request made is saved as failed with the reason;
    ``job_id`` names the training job to resume once the broker is back (None for a prediction)."""

    def __init__(self, message: str, *, job_id: int | None = None):
        super().__init__(message)
        self.job_id = job_id


def send_task_now(task_name: str, *args, queue: str | None = None) -> None:
    """Send the task named ``task_name`` at once, on a connection of its own, or raise
    :class:`BrokerUnreachable` within the bounded retries of settings (seconds, not minutes).

    A connection per send (no pool) costs a few milliseconds, negligible for the handful of
    tasks a job sends, and always reflects the configured broker. ``queue``: a named queue (the
    GPU units'), else the default one."""
    options = {"queue": queue} if queue else {}
    try:
        with app.connection_for_write() as connection:
            app.send_task(task_name, args=args, connection=connection, **options)
    except (OperationalError, OSError) as exc:
        raise BrokerUnreachable(f"{type(exc).__name__}: {exc}") from exc


@worker_init.connect
def load_the_model_code_before_the_pool_forks(**kwargs) -> None:
    """Import torch and the estimators once in a worker's main process, before its pool forks, so
    the children inherit them: otherwise each child's first timeline pays the import (4-8 s on a
    busy machine), longer than EMOLAB_PREDICT_WAIT_S by itself. Only workers send this signal;
    web processes never import torch (tests/test_import_boundaries.py)."""
    import models_app.ser.persistence  # noqa: F401


def enqueue_after_commit(task_name: str, *args, queue: str | None = None) -> None:
    """Send the task named ``task_name`` once the surrounding transaction has committed, so the
    worker finds the rows it is given. Services send tasks by name: the task modules import the
    services, so the services importing the tasks would make a cycle. ``queue``: a named queue
    (the GPU units'), else the default one."""
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: app.send_task(task_name, args=args, **options))
