"""The Celery application. Tasks live in each app's tasks.py and stay thin: they load rows by id
and call services."""

import os

from celery import Celery
from celery.signals import worker_init
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")

app = Celery("emolab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def load_the_model_code_before_the_pool_forks(**kwargs) -> None:
    """Import torch and the estimators once in a worker's main process, before its pool forks, so
    the children inherit them: otherwise each child's first timeline pays the import (4-8 s on a
    busy machine), longer than EMOLAB_PREDICT_WAIT_S by itself. Only workers send this signal;
    web processes never import torch (tests/test_import_boundaries.py)."""
    import models_app.ser.persistence  # noqa: F401


def enqueue_after_commit(task_name: str, *args) -> None:
    """Send the task named ``task_name`` once the surrounding transaction has committed, so the
    worker finds the rows it is given. Services send tasks by name: the task modules import the
    services, so the services importing the tasks would make a cycle."""
    transaction.on_commit(lambda: app.send_task(task_name, args=args))
