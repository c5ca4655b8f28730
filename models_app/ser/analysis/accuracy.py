"""Table 1: overall and mean class accuracy per row with their uncertainty, and McNemar tests.

Point estimates pool every out-of-fold prediction (each utterance is predicted once, by the fold
that held it out), so they are the accuracies of the whole corpus. The spread across folds is
reported beside them as the fold standard deviation, and the fold means too (the paper's table
averages folds; with folds of unequal size the two differ slightly).

The human row pools the assessors' answers against the expert label. Humans have no folds, so
its fold standard deviation is None; the spread across assessors is given instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from scipy import stats

from .config import AnalysisConfig
from .inputs import HUMAN_ROW, row_label
from .scoring import NO_CLASS, RowAnswers, accuracies, bootstrap_intervals, group_spread, per_class_recall


def table1(rows: Mapping[str, RowAnswers], n_classes: int, config: AnalysisConfig) -> dict[str, dict]:
    """One entry per row, in the order given.

    Each entry: ``overall_accuracy``, ``mean_class_accuracy`` (fractions in [0, 1]), their 95%
    bootstrap intervals ``*_ci`` ([lo, hi]), ``*_fold_std`` and ``*_fold_mean`` (None for humans),
    ``*_assessor_std`` (humans only), ``n`` (answers scored: utterances for a method, answers for
    humans), ``n_utterances``, ``n_no_class`` (empty decodings or answers outside the class set),
    ``per_class_recall`` (K,) and ``groups`` (per fold or per assessor).
    """
    table = {}
    for name, row in rows.items():
        overall, mean_class = accuracies(row.true, row.predicted, n_classes)
        intervals = bootstrap_intervals(row, n_classes, config)
        spread = group_spread(row, n_classes, config.std_ddof)
        entry = {
            "label": row_label(name),
            "overall_accuracy": overall,
            "mean_class_accuracy": mean_class,
            "overall_accuracy_ci": intervals["overall_accuracy"],
            "mean_class_accuracy_ci": intervals["mean_class_accuracy"],
            "n": row.n,
            "n_utterances": len(set(row.utterance_ids)),
            "n_no_class": int(np.sum(row.predicted == NO_CLASS)),
            "per_class_recall": per_class_recall(row, n_classes),
        }
        if name == HUMAN_ROW:
            entry.update(
                overall_accuracy_fold_std=None,
                mean_class_accuracy_fold_std=None,
                overall_accuracy_fold_mean=None,
                mean_class_accuracy_fold_mean=None,
                overall_accuracy_assessor_std=spread["overall_accuracy_std"],
                mean_class_accuracy_assessor_std=spread["mean_class_accuracy_std"],
                n_assessors=len(spread["groups"]),
                groups=[{"assessor": g.pop("group"), **g} for g in spread["groups"]],
            )
        else:
            entry.update(
                overall_accuracy_fold_std=spread["overall_accuracy_std"],
                mean_class_accuracy_fold_std=spread["mean_class_accuracy_std"],
                overall_accuracy_fold_mean=_mean_of(spread["groups"], "overall_accuracy"),
                mean_class_accuracy_fold_mean=_mean_of(spread["groups"], "mean_class_accuracy"),
                n_folds=len(spread["groups"]),
                groups=[{"fold": g.pop("group"), **g} for g in spread["groups"]],
            )
        table[name] = entry
    return table


def _mean_of(groups: list[dict], key: str) -> float | None:
    values = [g[key] for g in groups if g[key] is not None]
    return float(np.mean(values)) if values else None


def mcnemar_test(b: int, c: int, *, exact_max_discordant: int) -> dict:
    """McNemar's test from the discordant counts.

    ``b``: utterances the first row gets right and the second wrong; ``c``: the reverse. With
    ``b + c <= exact_max_discordant`` the exact two-sided binomial test (b ~ Binomial(b + c, 1/2)):
    p = min(1, 2 P(X <= min(b, c))). Above it, the chi-square statistic with continuity correction
    (|b - c| - 1)^2 / (b + c), one degree of freedom.
    """
    n_discordant = b + c
    if n_discordant == 0:
        return {"b": b, "c": c, "test": "exact", "statistic": None, "p_value": 1.0}
    if n_discordant <= exact_max_discordant:
        p_value = min(1.0, 2.0 * float(stats.binom.cdf(min(b, c), n_discordant, 0.5)))
        return {"b": b, "c": c, "test": "exact", "statistic": None, "p_value": p_value}
    statistic = (abs(b - c) - 1.0) ** 2 / n_discordant
    p_value = float(stats.chi2.sf(statistic, 1))
    return {"b": b, "c": c, "test": "chi2", "statistic": float(statistic), "p_value": p_value}


def holm_adjusted(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` for their number, in the order given.

    Sort the m raw p-values ascending, multiply the i-th smallest (i from 1) by m - i + 1, cap at 1,
    and make the sequence non-decreasing (an adjusted p-value is never below the one before it).
    Rejecting every hypothesis whose adjusted p-value is at most alpha controls the family-wise
    error rate at alpha, without Bonferroni's loss of power.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p_values[index])))
        adjusted[index] = running
    return adjusted


def pairwise_mcnemar(rows: Mapping[str, RowAnswers], config: AnalysisConfig) -> list[dict]:
    """McNemar's test for every pair of rows on the utterances both answered.

    ``rows`` must hold one answer per utterance: the human row enters as each utterance's majority
    answer (see ``scoring.human_majority``). Each result names the pair, the shared utterances
    ``n``, both accuracies on them, ``b`` (first right, second wrong) and ``c`` (the reverse), the
    raw ``p_value`` and ``p_value_holm``, adjusted by Holm's method for the number of pairs.
    """
    results = []
    for (name_a, row_a), (name_b, row_b) in combinations(rows.items(), 2):
        correct_a = dict(zip(row_a.utterance_ids, row_a.correct, strict=True))
        correct_b = dict(zip(row_b.utterance_ids, row_b.correct, strict=True))
        shared = [u for u in correct_a if u in correct_b]
        b = sum(1 for u in shared if correct_a[u] and not correct_b[u])
        c = sum(1 for u in shared if not correct_a[u] and correct_b[u])
        results.append(
            {
                "row_a": name_a,
                "row_b": name_b,
                "n": len(shared),
                "accuracy_a": float(np.mean([correct_a[u] for u in shared])) if shared else None,
                "accuracy_b": float(np.mean([correct_b[u] for u in shared])) if shared else None,
                **mcnemar_test(b, c, exact_max_discordant=config.mcnemar_exact_max_discordant),
            }
        )
    for result, adjusted in zip(results, holm_adjusted([r["p_value"] for r in results]), strict=True):
        result["p_value_holm"] = adjusted
    return results
