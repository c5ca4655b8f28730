"""Confusion matrices (paper figures 6a and 7a), every row in the same class order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .scoring import NO_CLASS, RowAnswers


def confusion_counts(row: RowAnswers, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts (K, K), rows = expert label, columns = answer; and (K,) answers outside the class set
    (empty CTC decodings, or an assessor's answer that is not a class) per expert label."""
    counts = np.zeros((n_classes, n_classes), dtype=int)
    no_class = np.zeros(n_classes, dtype=int)
    for true, predicted in zip(row.true, row.predicted, strict=True):
        if predicted == NO_CLASS:
            no_class[true] += 1
        else:
            counts[true, predicted] += 1
    return counts, no_class


def confusion_matrices(rows: Mapping[str, RowAnswers], classes: Sequence[str]) -> dict:
    """For each row: ``counts`` (K, K), ``no_class`` (K,), ``row_totals`` (K,) and ``normalized``
    (K, K): counts divided by the row total, None for a class without answers.

    The row total includes answers outside the class set, so a row of ``normalized`` sums to less
    than 1 when there were empty decodings; ``no_class_share`` (K,) holds the remainder. Human
    matrices count every scored answer (assessors pooled, as in figure 7a).
    """
    n_classes = len(classes)
    matrices = {}
    for name, row in rows.items():
        counts, no_class = confusion_counts(row, n_classes)
        totals = counts.sum(axis=1) + no_class
        normalized = [
            [float(counts[t, p] / totals[t]) if totals[t] else None for p in range(n_classes)] for t in range(n_classes)
        ]
        matrices[name] = {
            "counts": counts.tolist(),
            "no_class": no_class.tolist(),
            "row_totals": totals.tolist(),
            "normalized": normalized,
            "no_class_share": [float(no_class[t] / totals[t]) if totals[t] else None for t in range(n_classes)],
        }
    return {"classes": list(classes), "rows": matrices}
