"""Training jobs end to end with a real Celery worker consuming from the real broker (the
filesystem transport on the defaults, Redis when CELERY_BROKER_URL points at it)."""

import os
import signal
from datetime import timedelta

import pytest

from models_app.models import FoldResult, JobUnit, ModelArtifact, TrainingJob, UtterancePrediction
from models_app.services import jobs as job_services
from models_app.tasks.jobs import prepare_job, run_fold_unit
from tests.factories import make_corpus
from tests.worker import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.slow]

ALL_METHODS = ["dummy", "framewise", "onelabel", "ctc", "utterance_stats"]


@pytest.fixture
def corpus(media_root, transactional_db, tmp_path):
    return make_corpus(
        tmp_path / "corpus",
        name="tiny",
        speakers=("s1", "s2", "s3", "s4"),
        per_speaker_class=3,
        seconds=1.5,
    )


def _wait_finished(job: TrainingJob, worker, timeout: float = 300) -> TrainingJob:
    try:
        wait_until(
            lambda: TrainingJob.objects.get(pk=job.pk).is_finished, timeout=timeout, message=f"job {job.pk} to finish"
        )
    except AssertionError as exc:
        units = list(job.units.values_list("kind", "method", "fold", "status", "progress", "error"))
        raise AssertionError(f"{exc}\nunits: {units}\nworker log:\n{worker.log()}") from None
    job.refresh_from_db()
    return job


def _counts(job):
    return (
        FoldResult.objects.filter(job=job).count(),
        UtterancePrediction.objects.filter(job=job).count(),
        ModelArtifact.objects.filter(job=job).count(),
    )


def test_a_fast_job_runs_to_success_and_its_results_are_stored(corpus, admin_user, celery_worker, api_client):
    job = job_services.training_job_start(
        corpus=corpus, methods=ALL_METHODS, preset="fast", folds=2, created_by=admin_user
    )
    job = _wait_finished(job, celery_worker, timeout=60)
    assert job.status == "succeeded", job.error + celery_worker.log()
    n_utterances = corpus.utterances.count()  # 24: every one is labelled and long enough

    rows = {"dummy", "framewise", "onelabel", "ctc", "ctc_best_path", "ctc_exact", "utterance_stats"}
    assert set(job.results) == rows
    for row in rows:
        assert FoldResult.objects.filter(job=job, row=row).count() == 2
        predictions = UtterancePrediction.objects.filter(job=job, row=row)
        # Every utterance is predicted exactly once, out of fold.
        assert predictions.count() == n_utterances
        assert predictions.values("utterance").distinct().count() == n_utterances
        assert 0.0 <= job.results[row]["overall_accuracy"] <= 1.0
    # Test folds never share a speaker with their training folds: each speaker is in one fold.
    folds_per_speaker = {}
    for speaker, fold in UtterancePrediction.objects.filter(job=job, row="dummy").values_list(
        "utterance__speaker__code", "fold"
    ):
        folds_per_speaker.setdefault(speaker, set()).add(fold)
    assert all(len(folds) == 1 for folds in folds_per_speaker.values())
    ctc = UtterancePrediction.objects.filter(job=job, row="ctc").first()
    assert ctc.frame_probabilities and len(ctc.frame_probabilities[0]) == 3  # two classes + blank
    assert ctc.decoded is not None
    framewise = UtterancePrediction.objects.filter(job=job, row="framewise").first()
    assert framewise.frame_probabilities and len(framewise.frame_probabilities[0]) == 2
    # The classes are tones of different pitch: the learned methods beat the majority baseline.
    assert job.results["utterance_stats"]["overall_accuracy"] > 0.8
    assert set(ModelArtifact.objects.filter(job=job).values_list("method", flat=True)) == set(ALL_METHODS)
    assert job.units.exclude(status="succeeded").count() == 0

    api_client.force_authenticate(admin_user)
    body = api_client.get(f"/api/jobs/{job.pk}/").json()
    assert body["status"] == "succeeded" and body["progress"] == 1.0
    assert body["results"]["ctc"]["mean_class_accuracy"] == job.results["ctc"]["mean_class_accuracy"]


def test_a_redelivered_task_duplicates_nothing(corpus, admin_user, celery_worker):
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy", "framewise"], preset="fast", folds=2, created_by=admin_user
    )
    job = _wait_finished(job, celery_worker, timeout=60)
    assert job.status == "succeeded", job.error
    before = _counts(job)
    # The broker hands the same messages out again (as after a lost acknowledgement).
    unit = job.units.get(kind="fold", method="framewise", fold=1)
    redelivered = [run_fold_unit.delay(unit.pk), prepare_job.delay(job.pk)]
    for result in redelivered:
        wait_until(
            lambda result=result: f"[{result.id}] succeeded" in celery_worker.log(),
            timeout=60,
            message=f"the worker to run the redelivered task {result.id}",
        )
    assert _counts(job) == before
    job.refresh_from_db()
    assert job.status == "succeeded"


def test_a_cancelled_job_runs_no_more_work(corpus, admin_user, media_root):
    from tests.worker import WorkerProcess

    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    job_services.training_job_cancel(job=job)
    worker = WorkerProcess().start()
    try:
        wait_until(
            lambda: "models_app.jobs.prepare" in worker.log() and "succeeded in" in worker.log(),
            timeout=60,
            message="the worker to take the job's first task",
        )
    finally:
        worker.stop()
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert _counts(job) == (0, 0, 0)
    assert set(job.units.values_list("status", flat=True)) == {"cancelled"}


def test_a_task_that_raises_fails_the_job_with_its_error(corpus, admin_user, media_root, client):
    from tests.worker import WorkerProcess

    job = job_services.training_job_start(
        corpus=corpus, methods=["onelabel"], preset="fast", folds=2, created_by=admin_user
    )
    # A configuration the network refuses: the fold task raises inside PyTorch.
    config = job.config
    config["network"]["hidden_units"] = -5
    TrainingJob.objects.filter(pk=job.pk).update(config=config)
    worker = WorkerProcess().start()
    try:
        job = _wait_finished(job, worker, timeout=120)
    finally:
        worker.stop()
    assert job.status == "failed"
    assert "Error" in job.error and job.error.strip()
    failed_unit = job.units.get(status="failed")
    assert failed_unit.kind == "fold" and failed_unit.error
    client.force_login(admin_user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "failed" in page and job.error.splitlines()[0][:40] in page


def test_a_killed_worker_process_is_redelivered_and_the_job_completes(corpus, admin_user, celery_worker):
    job = job_services.training_job_start(
        corpus=corpus, methods=["onelabel"], preset="fast", folds=2, created_by=admin_user
    )
    # Enough epochs (a few ms each on this tiny corpus) to kill the process in the middle of a fold.
    config = job.config
    config["training"]["epochs"] = 3000
    TrainingJob.objects.filter(pk=job.pk).update(config=config)
    running = wait_until(
        lambda: JobUnit.objects.filter(job=job, kind="fold", status="running", progress__gt=0).first(),
        timeout=120,
        message="a fold unit to be training",
    )
    for pid in celery_worker.pool_child_pids():
        os.kill(pid, signal.SIGKILL)
    job = _wait_finished(job, celery_worker, timeout=400)
    assert job.status == "succeeded", job.error + celery_worker.log()
    running.refresh_from_db()
    assert running.attempts >= 2, "the interrupted unit ran again"
    assert UtterancePrediction.objects.filter(job=job, row="onelabel").count() == corpus.utterances.count()


def _predictions(job):
    return sorted(
        UtterancePrediction.objects.filter(job=job).values_list(
            "row", "utterance_id", "predicted_label", "probabilities"
        )
    )


def test_a_worker_killed_during_a_fold_is_requeued_by_the_watchdog_and_a_new_worker_finishes_the_job(
    corpus, admin_user, media_root
):
    """The whole worker (main process and pool) SIGKILLed in the middle of a fold, as by the OOM
    killer: nothing redelivers the message soon (Redis holds it until the visibility timeout). The
    watchdog, given a time past the fold's limit, re-queues the unit; a new worker finishes the
    job with the results of the same job run without interruption."""
    from tests.worker import WorkerProcess

    def start_job():
        job = job_services.training_job_start(
            corpus=corpus, methods=["onelabel"], preset="fast", folds=2, seed=3, created_by=admin_user
        )
        config = job.config
        config["training"]["epochs"] = 600  # a few seconds per fold: time to kill it in the middle
        TrainingJob.objects.filter(pk=job.pk).update(config=config)
        return job

    job = start_job()
    first = WorkerProcess().start()
    try:
        running = wait_until(
            lambda: JobUnit.objects.filter(job=job, kind="fold", status="running", progress__gt=0).first(),
            timeout=120,
            message="a fold unit to be training",
        )
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)
        first.process.wait(timeout=10)
    running.refresh_from_db()
    assert running.status == "running", "the dead worker's fold is left running"
    # Within its limit the watchdog waits (the worker could be alive); past it, re-queues the fold.
    limit = job_services.unit_time_limit("fold")
    assert running.pk not in job_services.training_jobs_watchdog(now=running.heartbeat_at + limit / 2).requeued
    report = job_services.training_jobs_watchdog(now=running.heartbeat_at + limit + timedelta(seconds=1))
    assert report.requeued == [running.pk]

    second = WorkerProcess().start()
    try:
        job = _wait_finished(job, second, timeout=300)
        assert job.status == "succeeded", job.error + second.log()
        running.refresh_from_db()
        assert (running.status, running.attempts, running.requeues) == ("succeeded", 2, 1)
        reference = _wait_finished(start_job(), second, timeout=300)
    finally:
        second.stop()
    assert reference.status == "succeeded", reference.error
    assert job.results == reference.results
    assert _predictions(job) == _predictions(reference)
    assert len(_predictions(job)) == corpus.utterances.count()
