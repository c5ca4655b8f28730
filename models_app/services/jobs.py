"""Training jobs: start, run (called by the Celery tasks), cancel, resume, fail.

Every step is safe to run twice: a unit that already succeeded is skipped, and a unit's results
replace whatever an interrupted earlier attempt left, so a redelivered task duplicates nothing.
The job is marked succeeded only by the finalize step, and only when every fold unit succeeded.

Nothing waits for a person to notice a problem: a task that cannot be sent fails the job with the
reason (and the job can be resumed), and the watchdog, run by Celery beat, re-queues the units of
dead workers and re-sends the units no worker took (docs/reliability.md).
"""

import logging
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.models import Corpus
from annotation.selectors.corpora import experiment_utterances
from emolab.celery import BrokerUnreachable, TaskQueueUnavailable, send_task_now
from models_app.models import FoldResult, JobUnit, ModelArtifact, TrainingJob, UtterancePrediction
from models_app.selectors.jobs import training_job_dataset, training_job_seed_folds, training_job_table1
from models_app.ser.config import DEFAULT_DEVICE, DEFAULT_PRESET, ExperimentConfig, check_device
from models_app.ser.config import preset as preset_config
from models_app.ser.cv import DEFAULT_FOLDS, MAX_FOLDS, MIN_FOLDS
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_NAMES
from models_app.ser.folds import fit_final, make_folds, run_fold
from models_app.ser.progress import ProgressEvent
from models_app.ser.registry import METHOD_NAMES, METHODS, unknown_methods
from models_app.ser.seeds import fold_seed_metrics, seeds_table
from models_app.services.features import feature_set_ensure

logger = logging.getLogger(__name__)

# The Celery tasks of a job's steps (models_app/tasks/jobs.py), sent by name (emolab/celery.py).
PREPARE_TASK = "models_app.jobs.prepare"
RUN_FOLD_TASK = "models_app.jobs.run_fold"
FINALIZE_TASK = "models_app.jobs.finalize"
WATCHDOG_TASK = "models_app.jobs.watchdog"
PREPARE_WEIGHT = 0.5  # the features step, against the methods' relative costs (ser/registry.py)
QUEUE_UNREACHABLE = "the task queue is unreachable"
# A unit whose worker went silent is run once more; silent again, it fails the job: a unit that
# kills its worker every time (out of memory, say) must not loop forever.
MAX_REQUEUES = 1
# Progress is written at most this often (seconds): training loops report far more often.
PROGRESS_WRITE_INTERVAL_S = 1.0


class JobError(Exception):
    """A request about a job that cannot be honoured; the message says why."""


class JobConflict(JobError):
    """The request is fine but the job's state does not allow it (cancel a finished job, resume a running one)."""


class JobCancelled(Exception):
    """Raised inside a running unit when its job was cancelled, to stop the work early."""


def code_version() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
        )
        return result.stdout.strip() if result.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def training_job_start(
    *,
    corpus: Corpus,
    methods: list[str],
    preset: str = DEFAULT_PRESET,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    created_by=None,
    features: str = DEFAULT_FEATURE_SET,
    device: str = DEFAULT_DEVICE,
    model_seeds: list[int] | None = None,
) -> TrainingJob:
    methods = list(dict.fromkeys(methods))  # drop repeats, keep the order
    unknown = unknown_methods(methods)
    if unknown:
        raise JobError(f"unknown methods {', '.join(unknown)}; choose among {', '.join(METHOD_NAMES)}")
    if not methods:
        raise JobError("choose at least one method")
    try:
        config = preset_config(preset)
    except ValueError:
        raise JobError(f"unknown preset {preset!r}") from None
    if features not in FEATURE_SET_NAMES:
        raise JobError(f"unknown feature set {features!r}; choose one of {', '.join(FEATURE_SET_NAMES)}")
    try:
        check_device(device)
    except ValueError as exc:
        raise JobError(str(exc)) from None
    config = replace(config, features=features, device=device)
    model_seeds = list(model_seeds or [])
    if len(set(model_seeds)) != len(model_seeds):
        raise JobError("a model seed is given twice")
    if len(model_seeds) > MAX_MODEL_SEEDS or any(not 0 <= s <= MAX_SEED for s in model_seeds):
        raise JobError(f"give at most {MAX_MODEL_SEEDS} model seeds, each between 0 and {MAX_SEED}")
    if not MIN_FOLDS <= folds <= MAX_FOLDS:
        raise JobError(f"folds must be between {MIN_FOLDS} and {MAX_FOLDS}")
    n_groups = experiment_utterances(corpus=corpus).values("session").distinct().count()
    if n_groups < folds:
        raise JobError(
            f"corpus {corpus.name} has {n_groups} cross-validation groups (sessions) with labelled utterances; "
            f"{folds} folds need at least {folds}"
        )
    with transaction.atomic():
        job = TrainingJob.objects.create(
            corpus=corpus,
            methods=methods,
            preset=preset,
            features=features,
            device=device,
            model_seeds=model_seeds,
            config=config.to_dict(),
            n_folds=folds,
            seed=seed,
            classes=list(corpus.classes),
            created_by=created_by,
            code_version=code_version(),
        )
        now = timezone.now()
        units = [
            JobUnit(job=job, kind=JobUnit.Kind.PREPARE, weight=PREPARE_WEIGHT, enqueued=True, sent_at=now, send_count=1)
        ]
        runs = max(len(model_seeds), 1)  # a fold unit trains its method once per model seed
        for method in methods:
            units += [
                JobUnit(
                    job=job,
                    kind=JobUnit.Kind.FOLD,
                    method=method,
                    fold=fold,
                    weight=METHODS[method].relative_cost * runs,
                )
                for fold in range(folds)
            ]
        # The final models cost about one fold of each method.
        units.append(
            JobUnit(job=job, kind=JobUnit.Kind.FINALIZE, weight=sum(METHODS[m].relative_cost for m in methods))
        )
        JobUnit.objects.bulk_create(units)
        _send_after_commit_or_fail_job(job.pk, PREPARE_TASK, job.pk)
    return job


def training_job_cancel(*, job: TrainingJob) -> TrainingJob:
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            raise JobConflict(f"job {job.pk} has already {job.status}")
        now = timezone.now()
        job.status = TrainingJob.Status.CANCELLED
        job.finished_at = now
        job.save(update_fields=["status", "finished_at"])
        job.units.filter(status__in=[JobUnit.Status.QUEUED, JobUnit.Status.RUNNING]).update(
            status=JobUnit.Status.CANCELLED, finished_at=now
        )
    return job


def training_job_fail(*, job_id: int, error: str, unit_id: int | None = None) -> None:
    """Record a final failure. Remaining tasks of the job see it and do nothing."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job_id)
        now = timezone.now()
        if unit_id is not None:
            JobUnit.objects.filter(pk=unit_id).update(status=JobUnit.Status.FAILED, error=error, finished_at=now)
        if job.is_finished:
            return
        job.status = TrainingJob.Status.FAILED
        job.error = error
        job.finished_at = now
        job.save(update_fields=["status", "error", "finished_at"])
        job.units.filter(status=JobUnit.Status.QUEUED).update(status=JobUnit.Status.CANCELLED, finished_at=now)


def training_job_resume(*, job: TrainingJob) -> TrainingJob:
    """Run again what a job is missing: succeeded units are kept, the rest is queued and sent again.

    Any job that is neither running nor succeeded can be resumed: a failed or cancelled one, and a
    queued one whose messages were lost (a broker that restarted empty, an enqueue that failed)."""
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (TrainingJob.Status.RUNNING, TrainingJob.Status.SUCCEEDED):
            raise JobConflict(f"job {job.pk} is {job.status}; only a job that is not running or succeeded is resumed")
        job.units.exclude(status=JobUnit.Status.SUCCEEDED).update(
            status=JobUnit.Status.QUEUED,
            progress=0.0,
            error="",
            enqueued=False,
            heartbeat_at=None,
            sent_at=None,
            requeues=0,
            finished_at=None,
        )
        job.status = TrainingJob.Status.QUEUED
        job.error = ""
        job.finished_at = None
        job.save(update_fields=["status", "error", "finished_at"])
        prepare = job.units.get(kind=JobUnit.Kind.PREPARE)
        if prepare.status != JobUnit.Status.SUCCEEDED:
            _mark_sent(prepare.pk)
            _send_after_commit_or_fail_job(job.pk, PREPARE_TASK, job.pk)
        else:
            # The features are done: send the folds (and the finalize step) straight away, each
            # tracked by the watchdog like any sent unit.
            _send_pending_units(job.pk, send=_send_after_commit_or_fail_job)
    return job


# --- sending tasks ----------------------------------------------------------------------------


def _mark_sent(unit_id: int, now: datetime | None = None) -> None:
    JobUnit.objects.filter(pk=unit_id).update(
        enqueued=True, sent_at=now or timezone.now(), send_count=F("send_count") + 1
    )


def _send_after_commit_or_fail_job(job_id: int, task_name: str, *args, queue: str | None = None) -> None:
    """Send once the transaction commits; an unreachable broker fails the job with the reason and
    raises :class:`TaskQueueUnavailable` (the caller answers 503)."""

    def send() -> None:
        try:
            send_task_now(task_name, *args, queue=queue)
        except BrokerUnreachable as exc:
            logger.warning("job %s: %s (%s)", job_id, QUEUE_UNREACHABLE, exc)
            training_job_fail(job_id=job_id, error=f"{QUEUE_UNREACHABLE}: {exc}. Resume the job once it is back.")
            raise TaskQueueUnavailable(
                f"{QUEUE_UNREACHABLE}: job {job_id} is saved as failed. Resume it once the queue is back.",
                job_id=job_id,
            ) from exc

    transaction.on_commit(send)


def _send_after_commit_or_leave_to_watchdog(job_id: int, task_name: str, *args, queue: str | None = None) -> None:
    """Send once the transaction commits, from a worker or the watchdog: a unit whose message could
    not be sent stays queued and marked sent, and the watchdog sends it again after its limit."""

    def send() -> None:
        try:
            send_task_now(task_name, *args, queue=queue)
        except BrokerUnreachable as exc:
            logger.warning("job %s: could not send %s%s, the watchdog will retry: %s", job_id, task_name, args, exc)

    transaction.on_commit(send)


def _send_pending_units(job_id: int, send=_send_after_commit_or_leave_to_watchdog) -> None:
    """Send every fold unit not sent yet, exactly once however many steps call this at once."""
    with transaction.atomic():
        pending = list(
            JobUnit.objects.select_for_update(of=("self",))
            .select_related("job")
            .filter(job_id=job_id, kind=JobUnit.Kind.FOLD, enqueued=False)
            .exclude(status=JobUnit.Status.SUCCEEDED)
        )
        now = timezone.now()
        for fold_unit in pending:
            _mark_sent(fold_unit.pk, now)
            send(job_id, RUN_FOLD_TASK, fold_unit.pk, queue=_queue_of(fold_unit))
    _maybe_finalize(job_id, send=send)


# --- the watchdog (run by Celery beat) ----------------------------------------------------------


def unit_time_limit(kind: str) -> timedelta:
    """The hard time limit of a unit's task (settings.EMOLAB_JOB_TIME_LIMITS_S)."""
    return timedelta(seconds=settings.EMOLAB_JOB_TIME_LIMITS_S[kind])


def _task_of(unit: JobUnit) -> tuple[str, int]:
    if unit.kind == JobUnit.Kind.PREPARE:
        return PREPARE_TASK, unit.job_id
    return (RUN_FOLD_TASK if unit.kind == JobUnit.Kind.FOLD else FINALIZE_TASK), unit.pk


@dataclass
class WatchdogReport:
    requeued: list[int] = field(default_factory=list)  # unit ids sent again after their worker went silent
    failed: list[int] = field(default_factory=list)  # unit ids that went silent again: their job failed
    resent: list[int] = field(default_factory=list)  # queued unit ids no worker took within their limit


def training_jobs_watchdog(*, now: datetime | None = None) -> WatchdogReport:
    """Look after every unfinished job without anybody reading a page (Celery beat runs this).

    - A running unit that has not reported for longer than its time limit has lost its worker (a
      live task reports every second and is killed at that limit): it is re-queued once, and if
      it goes silent again its job fails with the reason.
    - A queued unit whose message was sent longer than its time limit ago and that no worker has
      taken (a message lost with a broker restart) is sent again.
    Each unit is re-checked under a row lock, so two watchdogs at once act once."""
    now = now or timezone.now()
    report = WatchdogReport()
    live = JobUnit.objects.exclude(job__status__in=TrainingJob.FINISHED)
    for kind in JobUnit.Kind.values:
        since = now - unit_time_limit(kind)
        silent = live.filter(kind=kind, status=JobUnit.Status.RUNNING, heartbeat_at__lt=since)
        for unit_id in silent.values_list("pk", flat=True):
            _recover_silent_unit(unit_id, since, now, report)
        untaken = live.filter(kind=kind, status=JobUnit.Status.QUEUED, enqueued=True, sent_at__lt=since)
        for unit_id in untaken.values_list("pk", flat=True):
            _resend_untaken_unit(unit_id, since, now, report)
    if report.requeued or report.failed or report.resent:
        logger.warning("watchdog: %s", report)
    return report


def _locked_unit(unit_id: int) -> JobUnit | None:
    return JobUnit.objects.select_for_update(of=("self",)).select_related("job").filter(pk=unit_id).first()


def _recover_silent_unit(unit_id: int, since: datetime, now: datetime, report: WatchdogReport) -> None:
    with transaction.atomic():
        unit = _locked_unit(unit_id)
        if (
            unit is None
            or unit.job.is_finished
            or unit.status != JobUnit.Status.RUNNING
            or unit.heartbeat_at is None
            or unit.heartbeat_at >= since
        ):
            return  # it reported meanwhile, or another watchdog dealt with it
        silent_for = int((now - unit.heartbeat_at).total_seconds() // 60)
        if unit.requeues >= MAX_REQUEUES:
            training_job_fail(
                job_id=unit.job_id,
                unit_id=unit.pk,
                error=(
                    f"worker lost: {unit} stopped reporting at {unit.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC "
                    f"({silent_for} minutes, more than its time limit) after it had been re-queued "
                    f"{unit.requeues} time(s). Resume the job to run what is missing."
                ),
            )
            report.failed.append(unit.pk)
            return
        JobUnit.objects.filter(pk=unit.pk).update(
            status=JobUnit.Status.QUEUED,
            requeues=F("requeues") + 1,
            error=(
                f"re-queued: its worker stopped reporting at {unit.heartbeat_at:%Y-%m-%d %H:%M:%S} UTC "
                f"({silent_for} minutes, more than its time limit)"
            ),
        )
        _mark_sent(unit.pk, now)
        _send_after_commit_or_leave_to_watchdog(unit.job_id, *_task_of(unit), queue=_queue_of(unit))
        report.requeued.append(unit.pk)


def _resend_untaken_unit(unit_id: int, since: datetime, now: datetime, report: WatchdogReport) -> None:
    with transaction.atomic():
        unit = _locked_unit(unit_id)
        if (
            unit is None
            or unit.job.is_finished
            or unit.status != JobUnit.Status.QUEUED
            or unit.sent_at is None
            or unit.sent_at >= since
        ):
            return
        _mark_sent(unit.pk, now)
        _send_after_commit_or_leave_to_watchdog(unit.job_id, *_task_of(unit), queue=_queue_of(unit))
        report.resent.append(unit.pk)


# --- the steps the Celery tasks run ---------------------------------------------------------


def _claim_unit(unit_id: int) -> JobUnit | None:
    """Mark a unit running unless it is done or its job is over. None: nothing to do."""
    with transaction.atomic():
        unit = JobUnit.objects.select_for_update().select_related("job").get(pk=unit_id)
        if unit.status == JobUnit.Status.SUCCEEDED or unit.job.is_finished:
            return None
        now = timezone.now()
        unit.status = JobUnit.Status.RUNNING
        unit.attempts = F("attempts") + 1
        unit.started_at = unit.started_at or now
        unit.heartbeat_at = now
        unit.error = ""
        unit.save(update_fields=["status", "attempts", "started_at", "heartbeat_at", "error"])
        job = unit.job
        if job.status == TrainingJob.Status.QUEUED:
            job.status = TrainingJob.Status.RUNNING
            job.started_at = job.started_at or now
            job.save(update_fields=["status", "started_at"])
    unit.refresh_from_db()
    return unit


def _progress_writer(unit: JobUnit) -> Callable[[ProgressEvent], None]:
    """A progress callback for the numerical core: writes the unit's progress (throttled) and stops
    the work when the job was cancelled or failed meanwhile."""
    last_write = 0.0

    def report(event: ProgressEvent) -> None:
        nonlocal last_write
        now = time.monotonic()
        if now - last_write < PROGRESS_WRITE_INTERVAL_S and event.done < event.total:
            return
        last_write = now
        detail = {"stage": event.stage, "done": event.done, "total": event.total, **event.detail}
        JobUnit.objects.filter(pk=unit.pk).update(
            progress=min(max(event.fraction, 0.0), 0.99), detail=_jsonable(detail), heartbeat_at=timezone.now()
        )
        status = TrainingJob.objects.filter(pk=unit.job_id).values_list("status", flat=True).first()
        if status in TrainingJob.FINISHED:
            raise JobCancelled(f"job {unit.job_id} is {status}")

    return report


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _rounded(array, digits: int = 5):
    if array is None:
        return None
    return np.round(np.asarray(array, dtype=float), digits).tolist()


def _finish_unit(unit: JobUnit) -> None:
    now = timezone.now()
    JobUnit.objects.filter(pk=unit.pk).update(
        status=JobUnit.Status.SUCCEEDED, progress=1.0, finished_at=now, heartbeat_at=now
    )


def training_job_prepare(*, job_id: int) -> None:
    """Features first (reusing the cache), then one task per (method, fold)."""
    unit = JobUnit.objects.get(job_id=job_id, kind=JobUnit.Kind.PREPARE)
    claimed = _claim_unit(unit.pk)
    job = TrainingJob.objects.select_related("corpus").get(pk=job_id)
    if claimed is not None:
        feature_set = feature_set_ensure(
            corpus=job.corpus,
            preset=job.config["feature_preset"],
            features=job.features,
            progress=_progress_writer(claimed),
        )
        TrainingJob.objects.filter(pk=job_id).update(feature_set=feature_set)
        _finish_unit(claimed)
    elif job.is_finished:
        return
    _send_pending_units(job_id)


def training_job_run_fold(*, unit_id: int) -> None:
    unit = _claim_unit(unit_id)
    if unit is None:
        return
    job = unit.job
    dataset = training_job_dataset(job=job)
    config = ExperimentConfig.from_dict(job.config)
    fold = make_folds(dataset, job.n_folds, job.seed)[unit.fold]
    seeds = list(job.model_seeds) or [config.seed]
    report = _progress_writer(unit)
    by_seed = {}
    result = None
    for index, model_seed in enumerate(seeds):

        def progress(event, index=index, model_seed=model_seed):
            # One bar over all seeds: seed i covers [i / S, (i + 1) / S).
            fraction = (index + min(max(event.fraction, 0.0), 1.0)) / len(seeds)
            report(ProgressEvent(event.stage, round(fraction * 1000), 1000, {**event.detail, "model_seed": model_seed}))

        seeded = run_fold(unit.method, replace(config, seed=model_seed), dataset, fold, progress=progress)
        result = result or seeded  # the first seed's predictions are the ones stored
        n_classes = len(dataset.classes)
        for row, metrics in seeded.metrics.items():
            y_true = [p.true_label for p in seeded.predictions[row]]
            by_seed.setdefault(row, {})[str(model_seed)] = fold_seed_metrics(metrics, y_true, n_classes)
    if job.model_seeds:
        for row in result.metrics:
            result.metrics[row] = {**result.metrics[row], "by_model_seed": by_seed[row]}
    _store_fold_result(job, unit, result)
    _finish_unit(unit)
    _maybe_finalize(job.pk)


def _store_fold_result(job: TrainingJob, unit: JobUnit, result) -> None:
    """Replace what an earlier attempt of this unit stored, in one transaction."""
    classes = job.classes
    with transaction.atomic():
        rows = list(result.metrics)
        FoldResult.objects.filter(job=job, row__in=rows, fold=unit.fold).delete()
        UtterancePrediction.objects.filter(job=job, row__in=rows, fold=unit.fold).delete()
        FoldResult.objects.bulk_create(
            FoldResult(job=job, method=unit.method, row=row, fold=unit.fold, metrics=_jsonable(metrics))
            for row, metrics in result.metrics.items()
        )
        predictions = []
        for row, row_predictions in result.predictions.items():
            for p in row_predictions:
                predictions.append(
                    UtterancePrediction(
                        job=job,
                        row=row,
                        fold=unit.fold,
                        utterance_id=p.utterance_id,
                        true_label=classes[p.true_label],
                        predicted_label="" if p.predicted_label is None else classes[p.predicted_label],
                        probabilities=_rounded(p.probabilities),
                        frame_probabilities=_rounded(p.frame_probabilities),
                        decoded=_jsonable(p.decoded_sequence) if p.decoded_sequence is not None else None,
                    )
                )
        UtterancePrediction.objects.bulk_create(predictions, batch_size=500)


# More seeds multiply a job's work; ten is more than any table here needs.
MAX_MODEL_SEEDS = 10
MAX_SEED = 2**31 - 1

# The methods that train on the job's device; the forests and the dummy always use the CPU.
GPU_METHODS = ("onelabel", "ctc")


def _queue_for(job: TrainingJob, methods) -> str | None:
    """The GPU queue for a unit that trains a network of a job not pinned to the CPU, when the
    deployment has one (settings.EMOLAB_GPU_QUEUE); None (the default queue) otherwise."""
    if settings.EMOLAB_GPU_QUEUE and job.device != "cpu" and any(m in GPU_METHODS for m in methods):
        return settings.EMOLAB_GPU_QUEUE
    return None


def _queue_of(unit: JobUnit) -> str | None:
    """The queue a unit's task goes to (the prepare step always runs on the default one)."""
    if unit.kind == JobUnit.Kind.FOLD:
        return _queue_for(unit.job, [unit.method])
    if unit.kind == JobUnit.Kind.FINALIZE:
        return _queue_for(unit.job, unit.job.methods)
    return None


def _maybe_finalize(job_id: int, send=_send_after_commit_or_leave_to_watchdog) -> None:
    """Enqueue the finalize step exactly once, when every fold unit has succeeded."""
    with transaction.atomic():
        if (
            JobUnit.objects.filter(job_id=job_id, kind=JobUnit.Kind.FOLD)
            .exclude(status=JobUnit.Status.SUCCEEDED)
            .exists()
        ):
            return
        claimed = JobUnit.objects.filter(
            job_id=job_id, kind=JobUnit.Kind.FINALIZE, enqueued=False, status=JobUnit.Status.QUEUED
        ).update(enqueued=True, sent_at=timezone.now(), send_count=F("send_count") + 1)
        if claimed:
            finalize_unit = JobUnit.objects.select_related("job").get(job_id=job_id, kind=JobUnit.Kind.FINALIZE)
            send(job_id, FINALIZE_TASK, finalize_unit.pk, queue=_queue_of(finalize_unit))


def training_job_finalize(*, unit_id: int) -> None:
    """Pool the folds into Table 1 and train the final models on all labelled utterances."""
    # torch-bound: imported when the final models are saved, not when the web process imports
    # this module (models_app/ser/__init__.py).
    from models_app.ser.persistence import save_estimator

    unit = _claim_unit(unit_id)
    if unit is None:
        return
    job = unit.job
    missing = job.units.filter(kind=JobUnit.Kind.FOLD).exclude(status=JobUnit.Status.SUCCEEDED).count()
    if missing:
        raise JobConflict(f"cannot finalize: {missing} fold units have not succeeded")
    results = {row: summary.to_json(job.classes) for row, summary in training_job_table1(job=job).items()}
    if job.model_seeds:
        # The table's scores become the means over seeds; per-seed values and paired tests join them.
        for row, entry in seeds_table(training_job_seed_folds(job=job), list(job.model_seeds)).items():
            results[row].update(entry)
    dataset = training_job_dataset(job=job)
    config = ExperimentConfig.from_dict(job.config)
    if job.model_seeds:
        config = replace(config, seed=job.model_seeds[0])  # the final models: the first seed's
    artifact_dir = Path(settings.MEDIA_ROOT) / "models" / f"job-{job.pk}"
    artifact_dir.mkdir(parents=True, exist_ok=True)
    report = _progress_writer(unit)
    artifacts = []
    for index, method in enumerate(job.methods):
        report(ProgressEvent(stage="final models", done=index, total=len(job.methods), detail={"method": method}))
        estimator = fit_final(method, config, dataset, progress=report)
        path = artifact_dir / f"{method}.ckpt"
        save_estimator(estimator, path, config=config)
        artifacts.append(
            ModelArtifact(
                job=job,
                method=method,
                path=str(path.relative_to(settings.MEDIA_ROOT)),
                config=job.config,
                feature_config=job.feature_set.config if job.feature_set else {},
                classes=job.classes,
            )
        )
    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            return
        ModelArtifact.objects.filter(job=job).delete()
        ModelArtifact.objects.bulk_create(artifacts)
        _finish_unit(unit)
        job.results = _jsonable(results)
        job.status = TrainingJob.Status.SUCCEEDED
        job.finished_at = timezone.now()
        job.save(update_fields=["results", "status", "finished_at"])
