"""Reads about training jobs: progress, pooled results, the dataset a job runs on."""

import numpy as np
from django.db.models import QuerySet
from django.utils import timezone

from emolab.roles import is_researcher
from models_app.models import FoldResult, JobUnit, TrainingJob, UtterancePrediction
from models_app.selectors.datasets import dataset_for_corpus
from models_app.ser.metrics import NO_PREDICTION
from models_app.ser.table1 import MethodSummary, RowFold, summarize_row


def training_jobs_visible_to(*, user) -> QuerySet[TrainingJob]:
    """Researchers and admins see every job, the newest first; anybody else sees none."""
    if not is_researcher(user):
        return TrainingJob.objects.none()
    return TrainingJob.objects.select_related("corpus", "created_by").order_by("-created_at")


def training_job_progress(*, job: TrainingJob) -> float:
    """0..1, each unit weighted by its rough cost."""
    if job.status == TrainingJob.Status.SUCCEEDED:
        return 1.0
    units = list(job.units.values_list("weight", "progress", "status"))
    total = sum(weight for weight, _, _ in units)
    if not total:
        return 0.0
    done = sum(weight * (1.0 if status == JobUnit.Status.SUCCEEDED else progress) for weight, progress, status in units)
    return round(min(done / total, 1.0), 4)


def training_job_timing(*, job: TrainingJob, progress: float, now=None) -> dict:
    """Seconds since the job started (to its end when finished) and an estimate of the seconds
    left: elapsed x (1 - progress) / progress, once 2% is done (before that it would be noise).
    None where unknown."""
    now = now or timezone.now()
    started = job.started_at or job.created_at
    if started is None:
        return {"elapsed_s": None, "eta_s": None}
    end = job.finished_at if job.is_finished and job.finished_at else now
    elapsed = max(0.0, (end - started).total_seconds())
    eta = None
    if not job.is_finished and progress >= 0.02:
        eta = elapsed * (1.0 - progress) / progress
    return {"elapsed_s": elapsed, "eta_s": eta}


def training_job_has_ctc_model(*, job: TrainingJob) -> bool:
    """Whether the job left a final CTC model (the timeline page can use it)."""
    return job.artifacts.filter(method="ctc").exists()


def training_job_dataset(*, job: TrainingJob):
    """The numerical core's Dataset for the job's corpus and feature set."""
    return dataset_for_corpus(corpus=job.corpus, feature_set=job.feature_set, classes=job.classes)


def training_job_table1(*, job: TrainingJob) -> dict[str, MethodSummary]:
    """Table 1 of a job from its stored fold results, pooled by ser/table1.py; rows by name."""
    classes = list(job.classes)
    index = {name: i for i, name in enumerate(classes)}
    labels: dict[tuple[str, int], tuple[list[int], list[int]]] = {}
    stored = UtterancePrediction.objects.filter(job=job).order_by("pk")
    for row, fold, true_label, predicted_label in stored.values_list("row", "fold", "true_label", "predicted_label"):
        y_true, y_pred = labels.setdefault((row, fold), ([], []))
        y_true.append(index[true_label])
        # "" is an empty CTC decoding; a label outside the job's classes cannot be right either
        y_pred.append(index.get(predicted_label, NO_PREDICTION) if predicted_label else NO_PREDICTION)
    folds_of_row: dict[str, list[RowFold]] = {}
    for result in FoldResult.objects.filter(job=job).order_by("row", "fold"):
        y_true, y_pred = labels.get((result.row, result.fold), ([], []))
        folds_of_row.setdefault(result.row, []).append(RowFold(result.metrics, np.array(y_true), np.array(y_pred)))
    return {row: summarize_row(row, folds, len(classes)) for row, folds in sorted(folds_of_row.items())}


def training_job_seed_folds(*, job: TrainingJob) -> dict[str, dict[int, list[dict]]]:
    """row -> model seed -> that seed's per-fold metrics (fold order), from a seeds job's fold results."""
    by_row: dict[str, dict[int, list[dict]]] = {}
    for result in FoldResult.objects.filter(job=job).order_by("row", "fold"):
        for seed, metrics in (result.metrics.get("by_model_seed") or {}).items():
            by_row.setdefault(result.row, {}).setdefault(int(seed), []).append(metrics)
    return by_row
