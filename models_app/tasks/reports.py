"""The Celery task of a stored comparison report. Thin: an id in, one service call."""

from celery import shared_task

from models_app.services import reports as report_services

# IEMOCAP's size takes a few seconds; the limits only stop a stuck computation.
COMPUTE_LIMITS = {"soft_time_limit": 10 * 60, "time_limit": 10 * 60 + 60}


@shared_task(name=report_services.COMPUTE_TASK, acks_late=True, reject_on_worker_lost=True, **COMPUTE_LIMITS)
def compute_report(stored_id: int) -> None:
    report_services.stored_report_compute(stored_id=stored_id)
