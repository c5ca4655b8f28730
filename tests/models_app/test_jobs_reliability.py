"""Jobs that nobody would ever run (issue 12, item 2): an enqueue against an unreachable broker,
resuming, and the watchdog that re-queues or fails units without anybody opening a page.

The unreachable broker is real: the Celery app is pointed at a TCP port nothing listens on.
The watchdog is given the time as an argument, so no test sleeps for a time limit."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from emolab.celery import app
from models_app.models import JobUnit, TrainingJob
from models_app.services import jobs as job_services
from tests.broker import broker_down
from tests.factories import make_corpus

JOB_REQUEST = {"corpus": "tiny", "methods": ["dummy"], "preset": "fast", "folds": 2, "seed": 0}


def queued_messages(task_name: str) -> list:
    """Take the messages of ``task_name`` off the test session's queue on the configured broker
    (others are put back untouched): what a worker would receive."""
    found = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(settings.CELERY_TASK_DEFAULT_QUEUE)
        others = []
        while True:
            try:
                message = queue.get(timeout=1)
            except queue.Empty:
                break
            if message.headers.get("task") == task_name:
                found.append(message.headers.get("argsrepr"))
                message.ack()
            else:
                others.append(message)
        for message in others:
            message.requeue()
        queue.close()
    return found


@pytest.fixture
def corpus(db, tmp_path):
    return make_corpus(tmp_path / "tiny", name="tiny", speakers=("s1", "s2", "s3"), per_speaker_class=1)


# --- an unreachable broker at enqueue ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_starting_a_job_with_the_broker_down_answers_503_and_the_job_resumes_once_it_is_back(
    api_client, corpus, admin_user
):
    api_client.force_authenticate(admin_user)
    with broker_down():
        started = time.monotonic()
        response = api_client.post("/api/jobs/", JOB_REQUEST, format="json")
        elapsed = time.monotonic() - started
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"]
    body = response.json()
    assert "the task queue is unreachable" in body["detail"]
    assert elapsed < 10, f"the enqueue must fail fast, took {elapsed:.1f}s"
    job = TrainingJob.objects.get(pk=body["job"])
    assert job.status == "failed" and job.error.startswith("the task queue is unreachable")
    assert api_client.get(f"/api/jobs/{job.pk}/").json()["status"] == "failed"

    # Still down: resume answers 503 again and the job stays failed.
    with broker_down():
        response = api_client.post(f"/api/jobs/{job.pk}/resume/")
    assert response.status_code == 503 and "the task queue is unreachable" in response.json()["detail"]
    job.refresh_from_db()
    assert job.status == "failed"

    # The broker is back: resume queues the job and its first task really is on the queue.
    response = api_client.post(f"/api/jobs/{job.pk}/resume/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued" and response.json()["error"] == ""
    assert set(job.units.values_list("status", flat=True)) == {"queued"}
    prepare = job.units.get(kind="prepare")
    assert prepare.enqueued and prepare.sent_at is not None and prepare.send_count == 3
    assert queued_messages(job_services.PREPARE_TASK) == [f"({job.pk},)"]


@pytest.mark.django_db(transaction=True)
def test_the_start_form_says_the_queue_is_unreachable_instead_of_a_500(client, corpus, admin_user):
    client.force_login(admin_user)
    with broker_down():
        response = client.post("/jobs/new/", {**JOB_REQUEST, "seed": 1})
    assert response.status_code == 503
    page = response.content.decode()
    job = TrainingJob.objects.get()
    assert "the task queue is unreachable" in page
    assert f'href="/jobs/{job.pk}/"' in page and "to resume it" in page
    assert job.status == "failed"
    # The job's page offers to resume it.
    assert "Resume (run what is missing)" in client.get(f"/jobs/{job.pk}/").content.decode()


# --- resume -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["queued", "failed", "cancelled"])
def test_every_job_that_is_not_running_or_succeeded_can_be_resumed(
    api_client, corpus, admin_user, status, django_capture_on_commit_callbacks
):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    TrainingJob.objects.filter(pk=job.pk).update(status=status, error="something")
    JobUnit.objects.filter(job=job, kind="fold", fold=0).update(status="succeeded", progress=1.0)
    JobUnit.objects.filter(job=job, kind="fold", fold=1).update(status=status if status != "queued" else "queued")
    api_client.force_authenticate(admin_user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(f"/api/jobs/{job.pk}/resume/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "queued" and response.json()["error"] == ""
    statuses = dict(job.units.values_list("fold", "status").filter(kind="fold"))
    assert statuses == {0: "succeeded", 1: "queued"}, "what succeeded is kept"
    assert len(callbacks) == 1, "the first task is sent once, after the commit"


@pytest.mark.parametrize("status", ["running", "succeeded"])
def test_a_running_or_succeeded_job_is_not_resumed(api_client, corpus, admin_user, status):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    TrainingJob.objects.filter(pk=job.pk).update(status=status)
    api_client.force_authenticate(admin_user)
    response = api_client.post(f"/api/jobs/{job.pk}/resume/")
    assert response.status_code == 409
    assert status in response.json()["detail"]


def test_the_resume_button_shows_for_a_queued_job(client, corpus, admin_user):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    client.force_login(admin_user)
    assert "Resume (run what is missing)" in client.get(f"/jobs/{job.pk}/").content.decode()
    TrainingJob.objects.filter(pk=job.pk).update(status="running")
    assert "Resume (run what is missing)" not in client.get(f"/jobs/{job.pk}/").content.decode()


# --- the watchdog -------------------------------------------------------------------------------


def _running(job, unit, heartbeat_at):
    """The job past its features, ``unit`` taken by a worker that last reported at ``heartbeat_at``."""
    TrainingJob.objects.filter(pk=job.pk).update(status="running")
    JobUnit.objects.filter(job=job, kind="prepare").update(status="succeeded", progress=1.0)
    JobUnit.objects.filter(pk=unit.pk).update(status="running", heartbeat_at=heartbeat_at, attempts=1)


def test_a_unit_silent_for_longer_than_its_limit_is_requeued_once_then_its_job_fails(
    corpus, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    limit = job_services.unit_time_limit("fold")
    assert limit == timedelta(seconds=settings.EMOLAB_JOB_TIME_LIMITS_S["fold"])
    unit = job.units.get(kind="fold", fold=1)
    t0 = timezone.now()
    _running(job, unit, heartbeat_at=t0)

    # Within its limit: a long silence, but the task may still be working.
    with django_capture_on_commit_callbacks() as callbacks:
        report = job_services.training_jobs_watchdog(now=t0 + limit - timedelta(seconds=1))
    assert report == job_services.WatchdogReport() and not callbacks
    unit.refresh_from_db()
    assert unit.status == "running"

    # Past its limit: the worker is gone (a live task is killed at that limit); sent again.
    with django_capture_on_commit_callbacks() as callbacks:
        report = job_services.training_jobs_watchdog(now=t0 + limit + timedelta(seconds=1))
    assert report.requeued == [unit.pk] and report.failed == []
    assert len(callbacks) == 1
    unit.refresh_from_db()
    assert (unit.status, unit.requeues, unit.send_count) == ("queued", 1, 1)
    assert "re-queued" in unit.error and "stopped reporting" in unit.error
    job.refresh_from_db()
    assert job.status == "running"

    # A second worker takes it and goes silent too: the job fails with the reason.
    t1 = t0 + limit + timedelta(minutes=5)
    JobUnit.objects.filter(pk=unit.pk).update(status="running", heartbeat_at=t1, attempts=2)
    sent = []
    monkeypatch.setattr(job_services, "send_task_now", lambda name, *args, **options: sent.append(name))
    # Run what waits for the commit: a failed job refreshes stored reports that read it (none here),
    # but no unit of it is sent again.
    with django_capture_on_commit_callbacks(execute=True):
        report = job_services.training_jobs_watchdog(now=t1 + limit + timedelta(seconds=1))
    assert report.failed == [unit.pk] and report.requeued == [] and sent == []
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error.startswith("worker lost") and "fold 1" in job.error and "Resume the job" in job.error
    unit.refresh_from_db()
    assert unit.status == "failed"
    # The job is finished: a later round leaves it alone.
    assert job_services.training_jobs_watchdog(now=t1 + 3 * limit) == job_services.WatchdogReport()


def test_a_queued_unit_that_no_worker_took_is_sent_again(corpus, admin_user, django_capture_on_commit_callbacks):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    prepare = job.units.get(kind="prepare")
    assert prepare.enqueued and prepare.send_count == 1
    limit = job_services.unit_time_limit("prepare")
    with django_capture_on_commit_callbacks() as callbacks:
        report = job_services.training_jobs_watchdog(now=prepare.sent_at + limit - timedelta(seconds=1))
    assert report == job_services.WatchdogReport() and not callbacks
    later = prepare.sent_at + limit + timedelta(seconds=1)
    with django_capture_on_commit_callbacks() as callbacks:
        report = job_services.training_jobs_watchdog(now=later)
    # Only the prepare unit was ever sent; the fold units wait for it and are not sent by the watchdog.
    assert report.resent == [prepare.pk] and len(callbacks) == 1
    prepare.refresh_from_db()
    assert (prepare.status, prepare.send_count, prepare.sent_at) == ("queued", 2, later)
    assert job.units.filter(kind="fold", enqueued=True).count() == 0
    # Sent just now: not again in the next round.
    with django_capture_on_commit_callbacks() as callbacks:
        assert job_services.training_jobs_watchdog(now=later + timedelta(minutes=1)).resent == []


def test_the_watchdog_leaves_finished_jobs_alone(corpus, admin_user):
    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    unit = job.units.get(kind="fold", fold=0)
    _running(job, unit, heartbeat_at=timezone.now() - timedelta(days=2))
    job_services.training_job_cancel(job=job)
    assert job_services.training_jobs_watchdog(now=timezone.now() + timedelta(days=1)) == (
        job_services.WatchdogReport()
    )


def test_celery_beat_runs_the_watchdog_and_the_visibility_timeout_covers_the_longest_task():
    app.loader.import_default_modules()
    entry = settings.CELERY_BEAT_SCHEDULE["jobs-watchdog"]
    assert entry["task"] == job_services.WATCHDOG_TASK and entry["task"] in app.tasks
    assert entry["schedule"] == settings.EMOLAB_WATCHDOG_INTERVAL_S <= 300
    longest = max(task.time_limit or 0 for task in app.tasks.values())
    assert longest == max(settings.EMOLAB_JOB_TIME_LIMITS_S.values())
    # The watchdog's limits are the tasks' own hard limits.
    assert app.tasks[job_services.RUN_FOLD_TASK].time_limit == settings.EMOLAB_JOB_TIME_LIMITS_S["fold"]
    # A slow task still running is never handed to a second worker; a dead worker's message is
    # not held for hours beyond that.
    from emolab.settings import redis_transport_options

    visibility = redis_transport_options()["visibility_timeout"]
    assert longest < visibility <= longest + 600
