"""The Celery application. Tasks live in each app's tasks.py and stay thin: they load rows by id
and call services."""

import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")

app = Celery("emolab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_after_commit(task_name: str, *args, queue: str | None = None) -> None:
    """Send the task named ``task_name`` once the surrounding transaction has committed, so the
    worker finds the rows it is given. Services send tasks by name: the task modules import the
    services, so the services importing the tasks would make a cycle. ``queue``: a named queue
    (the GPU units'), else the default one."""
    options = {"queue": queue} if queue else {}
    transaction.on_commit(lambda: app.send_task(task_name, args=args, **options))
