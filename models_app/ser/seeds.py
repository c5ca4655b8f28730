"""Table 1 over several model seeds on fixed folds, and paired tests of "method A beats method B".

One run of Table 1 depends on the networks' random initialisation: on EmoDB the paper's CTC
mean class accuracy was 0.769, 0.722 and 0.710 over seeds 0, 1 and 2, and the one-label network
beat CTC with seed 2. So a table that is to hold is the mean over seeds, with their standard
deviation, the per-seed rows beside it, and for any two rows a paired test over every (seed,
fold) pair: both rows were scored on the same test utterances, so their difference on a pair
is what the seed and the fold's speakers leave of the methods' difference.

The tests, both one-sided (H1: A scores higher than B, in mean class accuracy):

- ``p_value``: Wilcoxon's signed-rank test over the seeds x folds differences (pairs with no
  difference dropped, scipy's default). The pairs share folds across seeds, so they are not
  independent; this p-value is the optimistic one.
- ``p_value_folds``: the exact sign-flip permutation test over the folds' differences averaged
  over seeds (2**folds equally likely sign patterns under H0). It treats the fold, not the seed,
  as the unit of replication and is the one to quote; with 5 folds it cannot go below 1/32.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from models_app.ser.registry import row_title

METRICS = ("overall_accuracy", "mean_class_accuracy")
# The paper's claimed ordering (Table 1 on IEMOCAP): CTC >= one-label > framewise > dummy.
PAPER_ORDERING = ("ctc", "onelabel", "framewise", "dummy")


def sign_flip_p_value(differences: np.ndarray) -> float:
    """One-sided exact p-value that the mean of ``differences`` is > 0: the share of the 2**n sign
    patterns whose mean is at least the observed one. n <= 20 (a million patterns)."""
    differences = np.asarray(differences, dtype=np.float64)
    n = differences.size
    if n == 0:
        return 1.0
    if n > 20:
        raise ValueError("the exact sign-flip test enumerates 2**n patterns: at most 20 values")
    signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    means = signs @ np.abs(differences) / n
    observed = differences.mean()
    return float(np.mean(means >= observed - 1e-12))


def paired_test(a: np.ndarray, b: np.ndarray) -> dict:
    """A beats B? a, b: (n_seeds, n_folds) scores of the two rows on the same (seed, fold) pairs."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"paired scores must have the same (seeds, folds) shape, got {a.shape} and {b.shape}")
    differences = (a - b).ravel()
    nonzero = differences[np.abs(differences) > 1e-12]
    p_value = 1.0 if nonzero.size == 0 else float(wilcoxon(nonzero, alternative="greater").pvalue)
    return {
        "mean_difference": float(differences.mean()),
        "n_pairs": int(differences.size),
        "n_wins": int(np.sum(differences > 1e-12)),
        "n_losses": int(np.sum(differences < -1e-12)),
        "p_value": p_value,
        "p_value_folds": sign_flip_p_value((a - b).mean(axis=0)),
    }


@dataclass
class SeedsResult:
    """One ExperimentResult per model seed, all on the same folds."""

    seeds: list[int]
    results: list  # ExperimentResult, in the order of ``seeds``

    def __post_init__(self):
        if not self.results or len(self.results) != len(self.seeds):
            raise ValueError("one experiment result per seed is needed")
        first = self.results[0]
        for result in self.results[1:]:
            same = all(
                np.array_equal(f.test_indices, g.test_indices) for f, g in zip(first.folds, result.folds, strict=True)
            )
            if not same:
                raise ValueError("the seeds' results were computed on different folds")

    def rows(self) -> list[str]:
        return self.results[0].rows()

    def pooled(self, row: str, metric: str) -> np.ndarray:
        """(n_seeds,) the row's pooled score under each seed."""
        return np.array([getattr(r.summaries[row], metric) for r in self.results])

    def per_fold(self, row: str, metric: str) -> np.ndarray:
        """(n_seeds, n_folds) the row's score on each fold under each seed."""
        return np.array([getattr(r.summaries[row], metric + "_folds") for r in self.results])

    def mean_and_std(self, row: str, metric: str) -> tuple[float, float]:
        """Mean and sample standard deviation (ddof 1; 0 for one seed) over seeds of the pooled score."""
        values = self.pooled(row, metric)
        return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def compare(self, a: str, b: str, metric: str = "mean_class_accuracy") -> dict:
        return {"a": a, "b": b, "metric": metric, **paired_test(self.per_fold(a, metric), self.per_fold(b, metric))}

    def ranking(self, metric: str = "mean_class_accuracy") -> list[str]:
        return sorted(self.rows(), key=lambda row: -self.mean_and_std(row, metric)[0])

    def comparisons(self, metric: str = "mean_class_accuracy") -> list[dict]:
        """Every ordered pair (A above B in the mean ranking): does A beat B?"""
        ranked = self.ranking(metric)
        return [self.compare(a, b, metric) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]

    def paper_ordering(self, metric: str = "mean_class_accuracy") -> list[dict]:
        """The paper's claim, pair by pair (CTC >= one-label, one-label > framewise, framewise >
        dummy), for the rows this run has."""
        present = [row for row in PAPER_ORDERING if row in self.rows()]
        return [self.compare(a, b, metric) for a, b in itertools.pairwise(present)]

    def format_table(self) -> str:
        seeds = ", ".join(map(str, self.seeds))
        header = f"{'method':<30} {'overall accuracy':>18} {'mean class accuracy':>20}"
        lines = [f"Mean ± standard deviation over model seeds {seeds} (pooled over folds)", header, "-" * len(header)]
        for row in self.rows():
            oa, oa_std = self.mean_and_std(row, "overall_accuracy")
            mca, mca_std = self.mean_and_std(row, "mean_class_accuracy")
            lines.append(f"{row_title(row):<30} {oa:>9.3f} ± {oa_std:<6.3f} {mca:>10.3f} ± {mca_std:<6.3f}")
        lines += ["", "Per seed (overall accuracy / mean class accuracy)"]
        lines.append(f"{'method':<30}" + "".join(f"{'seed ' + str(s):>16}" for s in self.seeds))
        for row in self.rows():
            cells = "".join(
                f"{oa:>7.3f} / {mca:.3f}"
                for oa, mca in zip(
                    self.pooled(row, "overall_accuracy"), self.pooled(row, "mean_class_accuracy"), strict=True
                )
            )
            lines.append(f"{row_title(row):<30}{cells}")
        ranked = self.ranking()
        lines += ["", "A beats B in mean class accuracy? (paired over seeds x folds; one-sided p-values)"]
        for a, b in itertools.pairwise(ranked):
            lines.append(self._comparison_line(self.compare(a, b)))
        ordering = self.paper_ordering()
        if ordering:
            lines += ["", "The paper's ordering (CTC >= one-label > framewise > dummy), pair by pair:"]
            lines += [self._comparison_line(c) for c in ordering]
        return "\n".join(lines)

    @staticmethod
    def _comparison_line(c: dict) -> str:
        return (
            f"  {row_title(c['a'])} > {row_title(c['b'])}: {c['mean_difference']:+.3f}, "
            f"higher on {c['n_wins']} of {c['n_pairs']} (seed, fold) pairs, lower on {c['n_losses']}; "
            f"p = {c['p_value_folds']:.3f} over folds (sign-flip), {c['p_value']:.4f} over pairs (Wilcoxon)"
        )

    def to_json(self) -> dict:
        """The first seed's JSON (its predictions and folds) with every row's overall and mean class
        accuracy replaced by the mean over seeds, plus each seed's rows and the paired tests."""
        data = self.results[0].to_json()
        data["seed"] = self.seeds[0]
        data["model_seeds"] = list(self.seeds)
        data["predictions_seed"] = self.seeds[0]
        for row in self.rows():
            entry = data["methods"][row]
            for metric in METRICS:
                mean, std = self.mean_and_std(row, metric)
                entry[metric] = mean
                entry[metric + "_seed_std"] = std
                entry[metric + "_seeds"] = self.pooled(row, metric).tolist()
        data["per_seed"] = [
            {
                "seed": seed,
                "methods": {row: result.summaries[row].to_json(result.classes) for row in result.rows()},
            }
            for seed, result in zip(self.seeds, self.results, strict=True)
        ]
        data["comparisons"] = self.comparisons()
        data["paper_ordering"] = self.paper_ordering()
        return data


def fold_seed_metrics(metrics: dict, y_true: np.ndarray, n_classes: int) -> dict:
    """What a job stores per (row, fold, model seed) to pool seeds later: the fold's scores, its
    confusion matrix (empty CTC decodings are in no column) and its class counts (they are)."""
    return {
        "overall_accuracy": metrics["overall_accuracy"],
        "mean_class_accuracy": metrics["mean_class_accuracy"],
        "confusion": metrics["confusion"],
        "class_counts": np.bincount(np.asarray(y_true, dtype=np.int64), minlength=n_classes).tolist(),
    }


def pooled_scores(folds: list[dict]) -> tuple[float, float]:
    """(overall, mean class accuracy) pooled over folds from their confusion matrices and class
    counts: the same numbers ser/table1.py pools from the predictions."""
    confusion = np.sum([np.asarray(f["confusion"], dtype=np.int64) for f in folds], axis=0)
    counts = np.sum([np.asarray(f["class_counts"], dtype=np.int64) for f in folds], axis=0)
    present = counts > 0
    recalls = np.diag(confusion)[present] / counts[present]
    return float(np.trace(confusion) / counts.sum()), float(recalls.mean())


def seeds_table(by_row: dict[str, dict[int, list[dict]]], seeds: list[int]) -> dict[str, dict]:
    """Per row, from ``fold_seed_metrics`` entries (row -> seed -> folds in fold order): the mean
    and standard deviation over seeds of the pooled scores, the per-seed values, and a paired
    test against every row with a lower mean (``beats``)."""
    table: dict[str, dict] = {}
    per_fold: dict[str, np.ndarray] = {}
    for row, by_seed in by_row.items():
        if any(seed not in by_seed for seed in seeds):
            continue
        pooled = np.array([pooled_scores(by_seed[seed]) for seed in seeds])  # (S, 2)
        entry: dict = {"model_seeds": list(seeds)}
        for column, metric in enumerate(METRICS):
            values = pooled[:, column]
            entry[metric] = float(values.mean())
            entry[metric + "_seed_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            entry[metric + "_seeds"] = values.tolist()
        table[row] = entry
        per_fold[row] = np.array([[f["mean_class_accuracy"] for f in by_seed[seed]] for seed in seeds])
    for a in table:
        table[a]["beats"] = {
            b: paired_test(per_fold[a], per_fold[b])
            for b in table
            if b != a and table[a]["mean_class_accuracy"] >= table[b]["mean_class_accuracy"]
        }
    return table
