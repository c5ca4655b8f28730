"""Celery tasks of a training job. Thin: they take ids, call a service, and record a final failure.

``acks_late`` with prefetch 1 (settings) and ``reject_on_worker_lost``: a task whose worker process
dies is delivered again, and the services make a second run harmless.
"""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from models_app.models import JobUnit
from models_app.services import jobs as job_services
from models_app.services.failures import error_text


def _limits(kind: str) -> dict:
    """The hard limit from settings (the watchdog uses the same); the soft one sits below it so
    the soft limit's exception can be recorded first."""
    hard = settings.EMOLAB_JOB_TIME_LIMITS_S[kind]
    margin = min(settings.EMOLAB_SOFT_LIMIT_MARGIN_S, hard // 10)  # short limits (tests) keep 90% of their time
    return {"soft_time_limit": hard - margin, "time_limit": hard}


PREPARE_LIMITS = _limits("prepare")
FOLD_LIMITS = _limits("fold")
FINALIZE_LIMITS = _limits("finalize")


def _run(step, step_kwargs: dict, job_id: int, unit_id: int | None) -> None:
    try:
        step(**step_kwargs)
    except job_services.JobCancelled:
        return  # the job was cancelled or failed elsewhere: stop quietly
    except SoftTimeLimitExceeded as exc:
        job_services.training_job_fail(job_id=job_id, unit_id=unit_id, error="time limit exceeded: " + str(exc))
    except Exception as exc:
        job_services.training_job_fail(job_id=job_id, unit_id=unit_id, error=error_text(exc, with_traceback=True))
        raise


def _job_of_unit(unit_id: int) -> int:
    return JobUnit.objects.values_list("job_id", flat=True).get(pk=unit_id)


@shared_task(name=job_services.PREPARE_TASK, acks_late=True, reject_on_worker_lost=True, **PREPARE_LIMITS)
def prepare_job(job_id: int) -> None:
    unit_id = JobUnit.objects.filter(job_id=job_id, kind=JobUnit.Kind.PREPARE).values_list("pk", flat=True).first()
    _run(job_services.training_job_prepare, {"job_id": job_id}, job_id, unit_id)


@shared_task(name=job_services.RUN_FOLD_TASK, acks_late=True, reject_on_worker_lost=True, **FOLD_LIMITS)
def run_fold_unit(unit_id: int) -> None:
    _run(job_services.training_job_run_fold, {"unit_id": unit_id}, _job_of_unit(unit_id), unit_id)


@shared_task(name=job_services.FINALIZE_TASK, acks_late=True, reject_on_worker_lost=True, **FINALIZE_LIMITS)
def finalize_job(unit_id: int) -> None:
    _run(job_services.training_job_finalize, {"unit_id": unit_id}, _job_of_unit(unit_id), unit_id)


@shared_task(name=job_services.WATCHDOG_TASK, soft_time_limit=50, time_limit=60)
def watchdog() -> None:
    """Run by Celery beat every EMOLAB_WATCHDOG_INTERVAL_S: re-queues or fails units whose worker
    is gone, re-sends units no worker took (models_app/services/jobs.py)."""
    job_services.training_jobs_watchdog()
