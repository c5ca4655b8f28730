"""The paper's experiment (sec. 4.4, Table 1): methods under speaker-independent cross-validation.

The one API both the command line (``manage.py run_experiment``) and the training jobs (one Celery
task per (method, fold)) use, one module per step:

- ``ser/dataset.py``: :class:`Dataset`, utterances with their frame features, labels, CV groups
  and speakers;
- ``ser/registry.py``: the methods, their result rows and titles, and their estimators built from
  the config's sections;
- ``ser/folds.py``: :func:`make_folds`, :func:`run_fold` -> :class:`FoldResult` (scores per result
  row, every test utterance's prediction, per-frame probabilities for framewise and CTC, decoded
  spans for CTC) and :func:`fit_final` (one estimator fitted on the whole dataset, for inference);
- ``ser/table1.py``: :func:`aggregate` -> :class:`MethodSummary` per result row (pooled and
  per-fold scores);
- here: :func:`run_experiment` -> :class:`ExperimentResult` (``to_json()``, ``format_table()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from models_app.ser.config import ExperimentConfig
from models_app.ser.cv import DEFAULT_FOLDS, Fold
from models_app.ser.dataset import Dataset
from models_app.ser.folds import FoldResult, UtterancePrediction, make_folds, run_fold
from models_app.ser.parallel import run_units_in_processes
from models_app.ser.progress import ProgressCallback
from models_app.ser.registry import METHOD_NAMES, METHODS, RESULT_ROWS, reads_utterance_vectors, unknown_methods
from models_app.ser.table1 import MethodSummary, aggregate

if TYPE_CHECKING:
    from models_app.ser.seeds import SeedsResult

JSON_DECIMALS = 6  # probabilities in the JSON: enough to rank and recompute, small enough to store


@dataclass
class ExperimentResult:
    config: ExperimentConfig
    classes: list[str]
    n_folds: int
    seed: int
    methods: list[str]
    dataset: Dataset
    folds: list[Fold]
    fold_results: list[FoldResult]
    summaries: dict[str, MethodSummary]

    def rows(self) -> list[str]:
        return [row.name for method in self.methods for row in METHODS[method].rows if row.name in self.summaries]

    def format_table(self) -> str:
        """Table 1: pooled accuracies with the standard deviation over folds."""
        header = f"{'method':<30} {'overall accuracy':>18} {'mean class accuracy':>20}"
        lines = [header, "-" * len(header)]
        for row in self.rows():
            s = self.summaries[row]
            lines.append(
                f"{s.title:<30} {s.overall_accuracy:>9.3f} ± {s.overall_accuracy_fold_std:<6.3f}"
                f" {s.mean_class_accuracy:>10.3f} ± {s.mean_class_accuracy_fold_std:<6.3f}"
            )
        ctc_rows = [row for row in self.rows() if RESULT_ROWS[row].decoder is not None]
        if ctc_rows:
            lines.append("")
            for row in ctc_rows:
                s = self.summaries[row]
                lines.append(
                    f"{s.title}: {s.n_empty}/{s.n} decodings empty (counted as errors), "
                    f"{s.n_multi}/{s.n} with more than one emotion (first one taken)"
                )
        lines.append("")
        lines.append(
            f"Pooled over {self.n_folds} speaker-independent folds (± standard deviation over folds); "
            f"{len(self.dataset)} utterances, classes {', '.join(self.classes)}."
        )
        return "\n".join(lines)

    def to_json(self) -> dict:
        classes = self.classes
        fold_rows: dict[int, dict] = {
            fold.index: {
                "index": fold.index,
                "test_groups": sorted(map(str, np.unique(np.asarray(self.dataset.groups)[fold.test_indices]))),
                "test_speakers": sorted(map(str, np.unique(np.asarray(self.dataset.speakers)[fold.test_indices]))),
                "n_train": int(len(fold.train_indices)),
                "n_test": int(len(fold.test_indices)),
                "rows": {},
                "methods": {},
            }
            for fold in self.folds
        }
        predictions: dict[str, list[dict]] = {}
        for result in self.fold_results:
            serialised = result.to_json()
            fold_rows[result.fold]["rows"].update(serialised["metrics"])
            fold_rows[result.fold]["methods"][result.method] = {
                "seconds": serialised["seconds"],
                "training": serialised["training"],
            }
            for row, row_predictions in result.predictions.items():
                # The CTC rows share one network's frame probabilities: written once, with "ctc".
                with_frames = row == METHODS[result.method].rows[0].name
                serialised_row = [prediction_json(p, classes, with_frames) for p in row_predictions]
                predictions.setdefault(row, []).extend(serialised_row)
        return {
            "classes": list(classes),
            "config": self.config.to_dict(),
            "n_folds": self.n_folds,
            "seed": self.seed,
            "n_utterances": len(self.dataset),
            "class_counts": self.dataset.class_counts(),
            "methods": {row: self.summaries[row].to_json(classes) for row in self.rows()},
            "folds": [fold_rows[index] for index in sorted(fold_rows)],
            "predictions": predictions,
        }


def prediction_json(prediction: UtterancePrediction, classes: Sequence[str], with_frames: bool = True) -> dict:
    """One out-of-fold prediction with class names; probabilities rounded for storage."""
    data = {
        "utterance_id": prediction.utterance_id,
        "fold": prediction.fold,
        "true_label": classes[prediction.true_label],
        "predicted_label": None if prediction.predicted_label is None else classes[prediction.predicted_label],
        "probabilities": np.round(prediction.probabilities, JSON_DECIMALS).tolist(),
    }
    if with_frames and prediction.frame_probabilities is not None:
        data["frame_probabilities"] = np.round(prediction.frame_probabilities, JSON_DECIMALS).tolist()
    if prediction.decoded_sequence is not None:
        data["decoded"] = [
            {"emotion": classes[emotion], "start_frame": start, "end_frame": end}
            for emotion, start, end in prediction.decoded_sequence
        ]
    return data


def run_experiment(
    dataset: Dataset,
    methods: Sequence[str],
    config: ExperimentConfig,
    n_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    n_jobs: int = 1,
) -> ExperimentResult:
    """Every method on every fold (``seed`` fixes the folds, ``config.seed`` the models).

    ``n_jobs`` > 1 runs that many (method, fold) units at once in spawned worker processes, each
    with ``config.n_threads`` threads; the results are the same as with ``n_jobs=1``."""
    unknown = unknown_methods(methods)
    if unknown:
        raise ValueError(f"unknown methods {', '.join(unknown)}; choose from {', '.join(METHOD_NAMES)}")
    if any(reads_utterance_vectors(m, config) for m in methods) and dataset.utterance_vectors is None:
        raise ValueError(f"feature set {config.features} has per-utterance functionals, but this dataset holds none")
    if len(dataset) == 0:
        raise ValueError("the dataset holds no utterances")
    if n_jobs < 1:
        raise ValueError("n_jobs must be at least 1")
    folds = make_folds(dataset, n_folds, seed)
    units = [(method, fold) for method in methods for fold in folds]
    if n_jobs == 1:
        fold_results = [run_fold(method, config, dataset, fold, progress) for method, fold in units]
    else:
        # The networks first: the long units start early, so the short ones fill the gaps at the end.
        order = sorted(range(len(units)), key=lambda i: -METHODS[units[i][0]].relative_cost)
        results = run_units_in_processes([units[i] for i in order], dataset, config, n_jobs, progress)
        fold_results = [result for _, result in sorted(zip(order, results, strict=True), key=lambda pair: pair[0])]
    return ExperimentResult(
        config=config,
        classes=list(dataset.classes),
        n_folds=n_folds,
        seed=seed,
        methods=list(methods),
        dataset=dataset,
        folds=folds,
        fold_results=fold_results,
        summaries=aggregate(fold_results),
    )


def run_seeds(
    dataset: Dataset,
    methods: Sequence[str],
    config: ExperimentConfig,
    model_seeds: Sequence[int],
    n_folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    progress: ProgressCallback | None = None,
    n_jobs: int = 1,
) -> SeedsResult:
    """The experiment once per model seed (``config.seed`` replaced), always on the folds of
    ``seed``: the seeds vary the models' initialisation, never the split. Progress events carry
    the model seed in their detail."""
    from models_app.ser.seeds import SeedsResult

    model_seeds = list(dict.fromkeys(int(s) for s in model_seeds))
    if not model_seeds:
        raise ValueError("give at least one model seed")
    results = []
    for model_seed in model_seeds:

        def seeded_progress(event, model_seed=model_seed):
            if progress:
                event.detail["model_seed"] = model_seed
                progress(event)

        results.append(
            run_experiment(
                dataset,
                methods,
                replace(config, seed=model_seed),
                n_folds=n_folds,
                seed=seed,
                progress=seeded_progress if progress else None,
                n_jobs=n_jobs,
            )
        )
    return SeedsResult(seeds=model_seeds, results=results)
