"""Answers of every Table 1 row in one shape, and the accuracy arithmetic shared by the sections.

A row is a set of answers to utterances with a known expert label inside the class set: one per
utterance for a method (its out-of-fold prediction), one per judgment for the assessors (their
answers pooled). Utterances without consensus, or labelled outside the class set, are left out
here: accuracy against an expert label needs that label to be one of the answers a row can give.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .config import AnalysisConfig
from .inputs import HUMAN_ROW, HumanJudgment, Prediction, UtteranceId, UtteranceRecord

NO_CLASS = -1  # predicted index of an empty CTC decoding or an answer outside the class set


@dataclass(frozen=True)
class RowAnswers:
    """The scored answers of one row, sorted by utterance id (then assessor) for reproducibility.

    Arrays have shape (n_answers,); ``true`` and ``predicted`` hold class indices into the report's
    class order, ``predicted`` is NO_CLASS for no answer in the class set.
    """

    name: str
    utterance_ids: tuple[UtteranceId, ...]
    true: np.ndarray  # (n,) int
    predicted: np.ndarray  # (n,) int, NO_CLASS allowed
    answers: tuple[str | None, ...]  # the answers as given, for majorities and residual agreement
    groups: tuple  # fold index (methods) or assessor name (humans), one per answer
    answer_index: np.ndarray | None = None  # (n,) int, humans only

    @property
    def n(self) -> int:
        return len(self.utterance_ids)

    @property
    def correct(self) -> np.ndarray:
        """(n,) bool: the answer equals the expert label."""
        return self.predicted == self.true


def _sort_key(utterance_id: UtteranceId) -> tuple[str, str]:
    # Ids may be ints or text; ordering by type name and text is total and stable across runs.
    return (type(utterance_id).__name__, str(utterance_id))


def class_index(classes: Sequence[str]) -> dict[str, int]:
    return {name: index for index, name in enumerate(classes)}


def method_row(
    name: str,
    predictions: Sequence[Prediction],
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    classes: Sequence[str],
) -> RowAnswers:
    """The scored predictions of one method row (utterances labelled inside the class set)."""
    index = class_index(classes)
    kept = [p for p in predictions if utterances_by_id[p.utterance_id].label in index]
    kept.sort(key=lambda p: _sort_key(p.utterance_id))
    return RowAnswers(
        name=name,
        utterance_ids=tuple(p.utterance_id for p in kept),
        true=np.array([index[utterances_by_id[p.utterance_id].label] for p in kept], dtype=int),
        predicted=np.array([index.get(p.predicted, NO_CLASS) for p in kept], dtype=int),
        answers=tuple(p.predicted for p in kept),
        groups=tuple(int(p.fold) for p in kept),
    )


def scored_judgments(judgments: Sequence[HumanJudgment]) -> list[HumanJudgment]:
    """Judgments that count: warm-up answers (training examples, paper 4.6) and hidden gold
    answers (a hand-picked easy subset) are left out of every pooled statistic."""
    return [j for j in judgments if not j.is_warmup and not j.is_gold]


def human_row(
    judgments: Sequence[HumanJudgment],
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    classes: Sequence[str],
    name: str = HUMAN_ROW,
) -> RowAnswers:
    """The assessors' answers pooled: one entry per answer (not per utterance)."""
    index = class_index(classes)
    kept = [j for j in judgments if utterances_by_id[j.utterance_id].label in index]
    kept.sort(key=lambda j: (*_sort_key(j.utterance_id), j.assessor))
    return RowAnswers(
        name=name,
        utterance_ids=tuple(j.utterance_id for j in kept),
        true=np.array([index[utterances_by_id[j.utterance_id].label] for j in kept], dtype=int),
        predicted=np.array([index.get(j.answer, NO_CLASS) for j in kept], dtype=int),
        answers=tuple(j.answer for j in kept),
        groups=tuple(j.assessor for j in kept),
        answer_index=np.array([j.answer_index for j in kept], dtype=int),
    )


def accuracies(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[float | None, float | None]:
    """(overall accuracy, mean class accuracy) of answers (n,) against labels (n,).

    Mean class accuracy is the mean recall over the classes that occur in ``true`` (paper 4.1);
    a class with no utterance has no recall and is left out of the mean rather than counted as 0.
    Both are None for no answers.
    """
    if len(true) == 0:
        return None, None
    correct = predicted == true
    recalls = [correct[true == c].mean() for c in range(n_classes) if np.any(true == c)]
    return float(correct.mean()), float(np.mean(recalls))


def per_class_recall(row: RowAnswers, n_classes: int) -> list[float | None]:
    """Recall per class (K,), None for a class without utterances."""
    correct = row.correct
    return [float(correct[row.true == c].mean()) if np.any(row.true == c) else None for c in range(n_classes)]


def group_spread(row: RowAnswers, n_classes: int, ddof: int) -> dict:
    """Both accuracies per group (fold or assessor) and their standard deviations across groups.

    The standard deviation is None with fewer than two groups.
    """
    # Folds sort as numbers (2 before 10), assessors as names.
    groups = sorted(set(row.groups), key=lambda group: (type(group).__name__, group))
    per_group = []
    group_array = np.array(row.groups, dtype=object)
    for group in groups:
        mask = group_array == group
        overall, mean_class = accuracies(row.true[mask], row.predicted[mask], n_classes)
        per_group.append(
            {"group": group, "n": int(mask.sum()), "overall_accuracy": overall, "mean_class_accuracy": mean_class}
        )

    def spread(key: str) -> float | None:
        values = [g[key] for g in per_group if g[key] is not None]
        if len(values) < 2:  # one fold or one assessor has no spread
            return None
        return float(np.std(values, ddof=ddof))

    return {
        "groups": per_group,
        "overall_accuracy_std": spread("overall_accuracy"),
        "mean_class_accuracy_std": spread("mean_class_accuracy"),
    }


def row_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per (seed, row): adding or dropping a row leaves the others' intervals alone."""
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))]))


def bootstrap_intervals(row: RowAnswers, n_classes: int, config: AnalysisConfig) -> dict:
    """Percentile bootstrap intervals of both accuracies, resampling utterances.

    Answers to one utterance are resampled together (a cluster bootstrap): several assessors'
    answers to the same utterance are not independent, and resampling answers one by one would
    make the human interval too narrow. For a method there is one answer per utterance and this
    is the ordinary bootstrap. Returns ``{"overall_accuracy": [lo, hi], "mean_class_accuracy":
    [lo, hi]}``, each None without answers.
    """
    if row.n == 0:
        return {"overall_accuracy": None, "mean_class_accuracy": None}
    # Per utterance: its class, how many answers it has and how many are right.
    cluster_of: dict[UtteranceId, int] = {}
    for utterance_id in row.utterance_ids:
        cluster_of.setdefault(utterance_id, len(cluster_of))
    cluster = np.array([cluster_of[u] for u in row.utterance_ids])
    n_clusters = len(cluster_of)
    cluster_label = np.zeros(n_clusters, dtype=int)
    cluster_label[cluster] = row.true
    n_answers = np.bincount(cluster, minlength=n_clusters).astype(float)
    n_correct = np.bincount(cluster, weights=row.correct.astype(float), minlength=n_clusters)

    # Per utterance and class: answers (m, K) and right answers (m, K), so a resample's per-class
    # totals are its utterance multiplicities (B, m) times these (a matrix product, not a loop).
    in_class = np.eye(n_classes)[cluster_label]  # (m, K) one-hot
    answers_by_class = n_answers[:, None] * in_class  # (m, K)
    right_by_class = n_correct[:, None] * in_class  # (m, K)

    rng = row_rng(config.seed, row.name)
    overall = np.empty(config.n_bootstrap)
    mean_class = np.empty(config.n_bootstrap)
    # Chunks bound the memory of the (resamples, utterances) matrices on IEMOCAP-size data.
    chunk = max(1, 1_000_000 // n_clusters)
    for start in range(0, config.n_bootstrap, chunk):
        stop = min(config.n_bootstrap, start + chunk)
        size = stop - start
        picks = rng.integers(0, n_clusters, size=(size, n_clusters))  # (B, m) utterances drawn
        offsets = (np.arange(size) * n_clusters)[:, None]
        multiplicity = np.bincount((picks + offsets).ravel(), minlength=size * n_clusters)
        multiplicity = multiplicity.reshape(size, n_clusters).astype(float)  # (B, m) times drawn
        totals = multiplicity @ answers_by_class  # (B, K)
        hits = multiplicity @ right_by_class  # (B, K)
        overall[start:stop] = hits.sum(axis=1) / totals.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls = np.where(totals > 0, hits / totals, np.nan)  # (B, K)
        # Classes absent from a resample drop out of its mean, as in ``accuracies``.
        mean_class[start:stop] = np.nanmean(recalls, axis=1)

    tail = (1.0 - config.confidence) / 2.0
    return {
        "overall_accuracy": [float(v) for v in np.quantile(overall, [tail, 1.0 - tail])],
        "mean_class_accuracy": [float(v) for v in np.quantile(mean_class, [tail, 1.0 - tail])],
    }


@dataclass(frozen=True)
class MajorityAnswers:
    """One human answer per utterance: the most frequent answer, ties broken by a seeded coin."""

    answers: dict[UtteranceId, str]
    n_ties: int  # utterances whose top answers tied


def human_majority(row: RowAnswers, seed: int) -> MajorityAnswers:
    """Each utterance's majority answer among the assessors.

    Used where a method's single prediction is paired with "the human" on the same utterance
    (McNemar, Cohen's kappa). A tie (two assessors, two answers) is broken by a coin seeded with
    ``seed``: with two assessors this picks one of them at random, so the paired human is as
    accurate on average as the pooled answers, neither favoured (taking the right one) nor
    penalised (dropping the tie).
    """
    by_utterance: dict[UtteranceId, list[str]] = defaultdict(list)
    for utterance_id, answer in zip(row.utterance_ids, row.answers, strict=True):
        by_utterance[utterance_id].append(answer)
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(b"human-majority")]))
    majority: dict[UtteranceId, str] = {}
    n_ties = 0
    for utterance_id in sorted(by_utterance, key=_sort_key):
        counts = Counter(by_utterance[utterance_id])
        top = max(counts.values())
        leaders = sorted(answer for answer, n in counts.items() if n == top)
        if len(leaders) > 1:
            n_ties += 1
            majority[utterance_id] = leaders[int(rng.integers(len(leaders)))]
        else:
            majority[utterance_id] = leaders[0]
    return MajorityAnswers(answers=majority, n_ties=n_ties)


def majority_row(row: RowAnswers, majority: MajorityAnswers, classes: Sequence[str]) -> RowAnswers:
    """The human row reduced to one answer per utterance (shape of a method row)."""
    index = class_index(classes)
    true_by_utterance = dict(zip(row.utterance_ids, row.true, strict=True))
    ids = sorted(majority.answers, key=_sort_key)
    return RowAnswers(
        name=row.name,
        utterance_ids=tuple(ids),
        true=np.array([true_by_utterance[u] for u in ids], dtype=int),
        predicted=np.array([index.get(majority.answers[u], NO_CLASS) for u in ids], dtype=int),
        answers=tuple(majority.answers[u] for u in ids),
        groups=tuple(0 for _ in ids),
    )


def share(numerator: int | float, denominator: int | float) -> float | None:
    """numerator / denominator, None for an empty denominator (JSON null, an empty CSV cell)."""
    return float(numerator) / float(denominator) if denominator else None


def finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
