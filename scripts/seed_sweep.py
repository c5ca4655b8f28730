"""Compare methods over several model seeds with the folds held fixed.

(``run_experiment --seeds 0,1,2`` now does the same with paired tests; this script remains for
the recipe comparisons' format.)

One run of Table 1 depends on the networks' random initialisation: on EmoDB, seed-to-seed
differences of a BLSTM's mean class accuracy reach 0.05, more than the gaps between methods. This
script runs the chosen methods once per model seed, always on the folds of ``--fold-seed``, and
prints every row's overall and mean class accuracy per seed, their mean over seeds, and how many
seeds each ordering held in. That is the protocol behind the recipe comparisons in docs/methods.md.

    export EMOLAB_VAR_DIR=/tmp/emolab-h4 DEBUG=1   # a var dir holding the imported corpus
    nice -n 10 .venv/bin/python scripts/seed_sweep.py --corpus emodb \\
        --classes anger,happiness,neutral,sadness --preset best --methods onelabel,ctc \\
        --model-seeds 0,1,2 --jobs 2 [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emolab.settings")
os.environ.setdefault("DEBUG", "1")


def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def sweep(dataset, methods, config, model_seeds, n_folds, fold_seed, n_jobs) -> dict:
    """Per result row: (overall accuracy, mean class accuracy) pooled over folds, one per model seed."""
    from models_app.ser.experiment import run_experiment

    scores: dict[str, list[tuple[float, float]]] = {}
    for model_seed in model_seeds:
        print(f"model seed {model_seed} ...", file=sys.stderr, flush=True)
        seeded = replace(config, seed=model_seed)
        result = run_experiment(dataset, methods, seeded, n_folds=n_folds, seed=fold_seed, n_jobs=n_jobs)
        for row, summary in result.summaries.items():
            scores.setdefault(row, []).append((summary.overall_accuracy, summary.mean_class_accuracy))
    return scores


def print_report(scores: dict, model_seeds) -> None:
    header = "row".ljust(28) + "".join(f"seed {s} OA / MCA".rjust(20) for s in model_seeds) + "mean OA / MCA".rjust(20)
    print(header)
    for row, values in scores.items():
        cells = "".join(f"{oa:.3f} / {mca:.3f}".rjust(20) for oa, mca in values)
        mean_oa, mean_mca = np.mean([v[0] for v in values]), np.mean([v[1] for v in values])
        print(row.ljust(28) + cells + f"{mean_oa:.3f} / {mean_mca:.3f}".rjust(20))
    rows = list(scores)
    for i, first in enumerate(rows):
        for second in rows[i + 1 :]:
            held = sum(a[1] >= b[1] for a, b in zip(scores[first], scores[second], strict=True))
            print(f"{first} >= {second} in mean class accuracy: {held} of {len(model_seeds)} seeds")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="name of an imported corpus")
    parser.add_argument("--classes", default="", help="comma-separated subset of the corpus's classes (default: all)")
    parser.add_argument("--preset", default="best", help="experiment preset (default best)")
    parser.add_argument("--features", default="pyaudioanalysis34", help="feature set (default pyaudioanalysis34)")
    parser.add_argument("--methods", default="onelabel,ctc", help="comma-separated methods (default onelabel,ctc)")
    parser.add_argument("--model-seeds", default="0,1,2", help="network and forest seeds (default 0,1,2)")
    parser.add_argument("--fold-seed", type=int, default=0, help="fixes the folds for every model seed (default 0)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="(method, fold) units at once, 1 thread each")
    parser.add_argument("--json", default="", help="also write the scores here")
    args = parser.parse_args(argv)

    import django

    django.setup()
    from annotation.selectors.corpora import UnknownCorpus, corpus_named
    from models_app.selectors.datasets import dataset_for_corpus
    from models_app.ser.config import preset
    from models_app.services.features import feature_set_ensure

    try:
        corpus = corpus_named(name=args.corpus)
    except UnknownCorpus as exc:
        sys.exit(f"{exc} (in this var dir: EMOLAB_VAR_DIR / DATABASE_URL)")
    config = replace(preset(args.preset), features=args.features)
    feature_set = feature_set_ensure(corpus=corpus, preset=config.feature_preset, features=config.features)
    dataset = dataset_for_corpus(corpus=corpus, feature_set=feature_set, classes=parse_list(args.classes) or None)
    model_seeds = [int(s) for s in parse_list(args.model_seeds)]
    methods = parse_list(args.methods)
    print(f"{corpus.name}: {len(dataset)} utterances; preset {config.name}; folds of seed {args.fold_seed}")
    scores = sweep(dataset, methods, config, model_seeds, args.folds, args.fold_seed, args.jobs)
    print_report(scores, model_seeds)
    if args.json:
        Path(args.json).write_text(json.dumps({"model_seeds": model_seeds, "scores": scores}, indent=2))


if __name__ == "__main__":
    main()
