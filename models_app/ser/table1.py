"""Table 1: each result row's scores pooled over the folds, with their spread over the folds.

The one aggregation both the experiment (its fold results in memory) and the training jobs (their
fold results read back from the database, see ``models_app/selectors/jobs.py``) use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models_app.ser.folds import FoldResult
from models_app.ser.metrics import NO_PREDICTION, confusion_matrix, mean_and_std, per_class_recall, score
from models_app.ser.registry import row_title


@dataclass(frozen=True)
class RowFold:
    """One result row on one fold: what Table 1 pools."""

    metrics: dict  # the fold's scores: overall_accuracy, mean_class_accuracy, n_empty, n_multi
    y_true: np.ndarray  # (n_test,) class indices
    y_pred: np.ndarray  # (n_test,) class indices, NO_PREDICTION for an empty CTC decoding


@dataclass
class MethodSummary:
    row: str
    overall_accuracy: float  # pooled over all folds' test utterances
    mean_class_accuracy: float  # pooled
    overall_accuracy_folds: list[float]
    mean_class_accuracy_folds: list[float]
    overall_accuracy_fold_mean: float
    overall_accuracy_fold_std: float
    mean_class_accuracy_fold_mean: float
    mean_class_accuracy_fold_std: float
    per_class_recall: list[float]  # pooled, in class order (NaN for an absent class)
    confusion: np.ndarray  # (K, K) pooled
    n: int
    n_empty: int = 0
    n_multi: int = 0

    @property
    def title(self) -> str:
        return row_title(self.row)

    def to_json(self, classes: Sequence[str]) -> dict:
        return {
            "title": self.title,
            "overall_accuracy": self.overall_accuracy,
            "mean_class_accuracy": self.mean_class_accuracy,
            "overall_accuracy_folds": self.overall_accuracy_folds,
            "mean_class_accuracy_folds": self.mean_class_accuracy_folds,
            "overall_accuracy_fold_mean": self.overall_accuracy_fold_mean,
            "overall_accuracy_fold_std": self.overall_accuracy_fold_std,
            "mean_class_accuracy_fold_mean": self.mean_class_accuracy_fold_mean,
            "mean_class_accuracy_fold_std": self.mean_class_accuracy_fold_std,
            "per_class_recall": {
                name: (None if np.isnan(value) else value)
                for name, value in zip(classes, self.per_class_recall, strict=True)
            },
            "confusion": self.confusion.tolist(),
            "n": self.n,
            "n_empty": self.n_empty,
            "n_multi": self.n_multi,
        }


def summarize_row(row: str, folds: Sequence[RowFold], n_classes: int) -> MethodSummary:
    """Pooled scores over all the folds' test utterances, per-fold scores with mean and std, the
    pooled confusion matrix and, for CTC, how many decodings were empty or held several emotions.
    ``folds`` in fold order."""
    if not folds:
        raise ValueError(f"row {row!r}: no fold to pool")
    y_true = np.concatenate([np.asarray(f.y_true, dtype=np.int64) for f in folds])
    y_pred = np.concatenate([np.asarray(f.y_pred, dtype=np.int64) for f in folds])
    pooled = score(y_true, y_pred, n_classes)
    overall_folds = [f.metrics["overall_accuracy"] for f in folds]
    mean_class_folds = [f.metrics["mean_class_accuracy"] for f in folds]
    overall_mean, overall_std = mean_and_std(overall_folds)
    mean_class_mean, mean_class_std = mean_and_std(mean_class_folds)
    return MethodSummary(
        row=row,
        overall_accuracy=pooled.overall_accuracy,
        mean_class_accuracy=pooled.mean_class_accuracy,
        overall_accuracy_folds=overall_folds,
        mean_class_accuracy_folds=mean_class_folds,
        overall_accuracy_fold_mean=overall_mean,
        overall_accuracy_fold_std=overall_std,
        mean_class_accuracy_fold_mean=mean_class_mean,
        mean_class_accuracy_fold_std=mean_class_std,
        per_class_recall=per_class_recall(y_true, y_pred, n_classes).tolist(),
        confusion=confusion_matrix(y_true, y_pred, n_classes),
        n=len(y_true),
        n_empty=sum(f.metrics.get("n_empty", 0) for f in folds),
        n_multi=sum(f.metrics.get("n_multi", 0) for f in folds),
    )


def aggregate(fold_results: Sequence[FoldResult]) -> dict[str, MethodSummary]:
    """Table 1 of an experiment's fold results: one summary per result row."""
    by_row: dict[str, list[RowFold]] = {}
    n_classes = None
    for fold_result in sorted(fold_results, key=lambda r: (r.method, r.fold)):
        for row, row_metrics in fold_result.metrics.items():
            predictions = fold_result.predictions[row]
            y_true = [p.true_label for p in predictions]
            y_pred = [NO_PREDICTION if p.predicted_label is None else p.predicted_label for p in predictions]
            by_row.setdefault(row, []).append(RowFold(row_metrics, np.array(y_true), np.array(y_pred)))
            n_classes = len(row_metrics["confusion"])
    return {row: summarize_row(row, folds, n_classes) for row, folds in by_row.items()}
