"""The Celery application. Tasks live in each app's tasks.py and stay thin: they load rows by id
and call services."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")

app = Celery("emolab")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
