"""Reads about training jobs: progress, pooled results, the dataset a job runs on."""

import numpy as np
from django.db.models import QuerySet

from models_app.job_models import FoldResult, JobUnit, TrainingJob, UtterancePrediction


def jobs_visible_to(user) -> QuerySet[TrainingJob]:
    return TrainingJob.objects.select_related("corpus", "created_by").order_by("-created_at")


def job_progress(job: TrainingJob) -> float:
    """0..1, each unit weighted by its rough cost."""
    if job.status == TrainingJob.Status.SUCCEEDED:
        return 1.0
    units = list(job.units.values_list("weight", "progress", "status"))
    total = sum(weight for weight, _, _ in units)
    if not total:
        return 0.0
    done = sum(weight * (1.0 if status == JobUnit.Status.SUCCEEDED else progress) for weight, progress, status in units)
    return round(min(done / total, 1.0), 4)


def job_units(job: TrainingJob) -> list[JobUnit]:
    return list(job.units.all())


def job_dataset(job: TrainingJob):
    """The numerical core's Dataset for the job's corpus and feature set."""
    from models_app.selectors.datasets import dataset_for_corpus

    return dataset_for_corpus(job.corpus, job.feature_set, classes=job.classes)


def pooled_results(job: TrainingJob) -> dict[str, dict]:
    """Per Table 1 row: accuracies pooled over all out-of-fold predictions, the fold mean and
    standard deviation, the confusion matrix, and for CTC rows the share of empty decodings."""
    from models_app.ser import metrics

    classes = list(job.classes)
    index = {name: i for i, name in enumerate(classes)}
    results: dict[str, dict] = {}
    rows = FoldResult.objects.filter(job=job).values_list("row", flat=True).distinct()
    for row in sorted(set(rows)):
        pairs = UtterancePrediction.objects.filter(job=job, row=row).values_list("true_label", "predicted_label")
        y_true = np.array([index[t] for t, _ in pairs], dtype=int)
        y_pred = np.array([index.get(p, -1) if p else -1 for _, p in pairs], dtype=int)
        fold_metrics = [r.metrics for r in FoldResult.objects.filter(job=job, row=row).order_by("fold")]
        overall_mean, overall_std = metrics.mean_and_std(m["overall_accuracy"] for m in fold_metrics)
        mean_class_mean, mean_class_std = metrics.mean_and_std(m["mean_class_accuracy"] for m in fold_metrics)
        results[row] = {
            "overall_accuracy": metrics.overall_accuracy(y_true, y_pred),
            "mean_class_accuracy": metrics.mean_class_accuracy(y_true, y_pred, len(classes)),
            "overall_accuracy_fold_mean": overall_mean,
            "overall_accuracy_fold_std": overall_std,
            "mean_class_accuracy_fold_mean": mean_class_mean,
            "mean_class_accuracy_fold_std": mean_class_std,
            "confusion": metrics.confusion_matrix(y_true, y_pred, len(classes)).tolist(),
            "n_utterances": int(y_true.size),
            "n_empty": int((y_pred < 0).sum()),
        }
    return results
