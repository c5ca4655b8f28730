"""Combine ``run_experiment --json`` files of the same corpus, folds and config into one seeds table.

Long runs are safer one seed at a time (a stopped run loses one seed, not all). This reads the
JSON files (single-seed or ``--seeds`` runs), checks that they share the folds (same test
speakers per fold), and prints per result row the mean ± standard deviation over all seeds of
the pooled overall and mean class accuracy, the per-seed values, and the paired tests of
``models_app/ser/seeds.py`` (one-sided, over seeds x folds and over folds) for the pairs asked.

    .venv/bin/python scripts/combine_seeds.py var/nets-seed0.json var/nets-seed1.json \\
        [--compare ctc:onelabel,utterance_stats:ctc] [--json combined.json]

A file given as ``PREFIX=PATH`` has its rows renamed ``PREFIX/row``: runs of two feature sets on
the same folds then compare row by row (``--compare egemaps/onelabel:paper/onelabel``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models_app.ser.seeds import paired_test  # noqa: E402  (after the path is set)


def seed_entries(data: dict) -> list[tuple[int, dict]]:
    """(model seed, {row: summary}) of one JSON file: its per-seed rows, or its only run."""
    if "per_seed" in data:
        return [(entry["seed"], entry["methods"]) for entry in data["per_seed"]]
    return [(data["config"]["seed"], data["methods"])]


def std(values: np.ndarray) -> float:
    """Sample standard deviation over seeds (0 for one seed)."""
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def combine(files: list[dict]) -> tuple[list[int], dict[str, dict[int, dict]]]:
    """(seeds, row -> seed -> summary), refusing files whose folds differ."""
    folds = [[fold["test_speakers"] for fold in data["folds"]] for data in files]
    if any(f != folds[0] for f in folds[1:]):
        raise SystemExit("the files were computed on different folds; run them with the same --seed and --folds")
    rows: dict[str, dict[int, dict]] = {}
    seeds: list[int] = []
    for data in files:
        for seed, methods in seed_entries(data):
            seeds.append(seed)
            for row, summary in methods.items():
                rows.setdefault(row, {})[seed] = summary
    return sorted(set(seeds)), rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="+", help="JSON files, or PREFIX=PATH to prefix their rows")
    parser.add_argument("--compare", default="", help="pairs a:b (does a beat b?), comma-separated")
    parser.add_argument("--json", default="", help="also write the combined numbers here")
    args = parser.parse_args(argv)
    loaded = []
    for given in args.files:
        prefix, _, path = given.rpartition("=")
        data = json.loads(Path(path).read_text())
        if prefix:
            for entry in data.get("per_seed", []):
                entry["methods"] = {f"{prefix}/{row}": value for row, value in entry["methods"].items()}
            data["methods"] = {f"{prefix}/{row}": value for row, value in data["methods"].items()}
        loaded.append(data)
    seeds, rows = combine(loaded)
    print(f"seeds {', '.join(map(str, seeds))}")
    print(f"{'row':<34}{'OA mean ± std':>18}{'MCA mean ± std':>18}   per seed MCA")
    table = {}
    for row, by_seed in rows.items():
        have = [s for s in seeds if s in by_seed]
        oa = np.array([by_seed[s]["overall_accuracy"] for s in have])
        mca = np.array([by_seed[s]["mean_class_accuracy"] for s in have])
        table[row] = {"seeds": have, "oa": oa.tolist(), "mca": mca.tolist()}
        print(
            f"{row:<34}{oa.mean():>10.3f} ± {std(oa):.3f}{mca.mean():>10.3f} ± {std(mca):.3f}   "
            + ", ".join(f"{s}: {v:.3f}" for s, v in zip(have, mca, strict=True))
        )
    comparisons = []
    for pair in filter(None, (p.strip() for p in args.compare.split(","))):
        a, b = pair.split(":")
        common = [s for s in seeds if s in rows.get(a, {}) and s in rows.get(b, {})]
        if not common:
            print(f"{a} vs {b}: no seed has both")
            continue
        fold_scores = [np.array([rows[name][s]["mean_class_accuracy_folds"] for s in common]) for name in (a, b)]
        result = {"a": a, "b": b, "seeds": common, **paired_test(*fold_scores)}
        comparisons.append(result)
        print(
            f"{a} > {b}: {result['mean_difference']:+.3f} mean class accuracy, higher on {result['n_wins']} of "
            f"{result['n_pairs']} (seed, fold) pairs; one-sided p = {result['p_value_folds']:.3f} over folds "
            f"(sign-flip), {result['p_value']:.4f} over pairs (Wilcoxon)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"seeds": seeds, "rows": table, "comparisons": comparisons}, indent=2))


if __name__ == "__main__":
    main()
