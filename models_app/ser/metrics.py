"""The paper's metrics (sec. 4.1) and their summaries over folds.

Labels are class indices ``0..K-1``. A prediction of -1 (:data:`NO_PREDICTION`: a CTC decoding
that holds no emotion) is wrong for every true class and has no column in the confusion matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_PREDICTION = -1  # an empty CTC decoding: counted as an error, as the authors did


def _as_labels(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got {y_true.shape} and {y_pred.shape}")
    return y_true, y_pred


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(K, K) counts: row = true class, column = predicted class. Empty predictions have no column."""
    y_true, y_pred = _as_labels(y_true, y_pred)
    if np.any((y_true < 0) | (y_true >= n_classes)):
        raise ValueError("true labels must lie in 0..n_classes-1")
    if np.any((y_pred >= n_classes) | (y_pred < NO_PREDICTION)):
        raise ValueError("predicted labels must lie in 0..n_classes-1 or be -1 (no prediction)")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    assigned = y_pred != NO_PREDICTION
    np.add.at(matrix, (y_true[assigned], y_pred[assigned]), 1)
    return matrix


def overall_accuracy(y_true, y_pred) -> float:
    """The paper's overall (weighted) accuracy: the share of correct answers."""
    y_true, y_pred = _as_labels(y_true, y_pred)
    if y_true.size == 0:
        raise ValueError("no predictions to score")
    return float(np.mean(y_true == y_pred))


def per_class_recall(y_true, y_pred, n_classes: int) -> np.ndarray:
    """(K,) recall of each class; NaN for a class absent from y_true."""
    y_true, y_pred = _as_labels(y_true, y_pred)
    recalls = np.full(n_classes, np.nan)
    for k in range(n_classes):
        members = y_true == k
        if members.any():
            recalls[k] = np.mean(y_pred[members] == k)
    return recalls


def mean_class_accuracy(y_true, y_pred, n_classes: int) -> float:
    """The paper's mean class (unweighted) accuracy: mean recall over the classes present in y_true."""
    recalls = per_class_recall(y_true, y_pred, n_classes)
    if np.all(np.isnan(recalls)):
        raise ValueError("no predictions to score")
    return float(np.nanmean(recalls))


@dataclass(frozen=True)
class Scores:
    overall_accuracy: float
    mean_class_accuracy: float
    n: int

    def to_dict(self) -> dict:
        return {"overall_accuracy": self.overall_accuracy, "mean_class_accuracy": self.mean_class_accuracy, "n": self.n}


def score(y_true, y_pred, n_classes: int) -> Scores:
    return Scores(
        overall_accuracy=overall_accuracy(y_true, y_pred),
        mean_class_accuracy=mean_class_accuracy(y_true, y_pred, n_classes),
        n=len(y_true),
    )


def mean_and_std(values) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1: the folds are a sample of possible splits);
    the std is 0.0 for a single value."""
    values = np.asarray(list(values), dtype=np.float64)
    if values.size == 0:
        raise ValueError("no values")
    std = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(np.mean(values)), std
