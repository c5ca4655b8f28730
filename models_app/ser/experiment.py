"""The paper's experiment (sec. 4.4, Table 1): methods under speaker-independent cross-validation.

The one API both the command line (``manage.py run_experiment``) and the training jobs (one Celery
task per (method, fold)) use:

- :class:`Dataset`: utterances with their frame features, labels, CV groups and speakers;
- :func:`make_folds` -> :class:`~models_app.ser.cv.Fold` list;
- :func:`run_fold` -> :class:`FoldResult` (scores per result row, every test utterance's prediction,
  per-frame probabilities for framewise and CTC, decoded spans for CTC);
- :func:`aggregate` -> :class:`MethodSummary` per result row (pooled and per-fold scores);
- :func:`fit_final`: one estimator fitted on the whole dataset, for inference;
- :func:`run_experiment` -> :class:`ExperimentResult` (``to_json()``, ``format_table()``).

Result rows: ``dummy``, ``framewise``, ``onelabel``, ``ctc`` (beam search, the paper's decoder),
``ctc_best_path``, ``ctc_exact`` (all three from one CTC network per fold), ``utterance_stats``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from models_app.ser.config import ExperimentConfig
from models_app.ser.cv import Fold, check_no_speaker_leak, grouped_folds
from models_app.ser.metrics import NO_PREDICTION, confusion_matrix, score
from models_app.ser.parallel import run_units_in_processes
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress
from models_app.ser.registry import METHOD_NAMES, METHODS, RESULT_ROWS, build_estimator, unknown_methods
from models_app.ser.table1 import MethodSummary, aggregate

JSON_DECIMALS = 6  # probabilities in the JSON: enough to rank and recompute, small enough to store


@dataclass(frozen=True)
class Dataset:
    """Utterances of one corpus ready for the methods.

    features[i]: (n_frames_i, 34) float32; labels: (n,) int indices into ``classes``; groups: (n,)
    cross-validation group of each utterance (its session, or speaker); speakers: (n,).
    """

    utterance_ids: np.ndarray
    features: list[np.ndarray]
    labels: np.ndarray
    groups: np.ndarray
    speakers: np.ndarray
    classes: list[str]

    def __post_init__(self):
        n = len(self.features)
        for name in ("utterance_ids", "labels", "groups", "speakers"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"dataset: {name} has {len(getattr(self, name))} entries for {n} utterances")
        labels = np.asarray(self.labels)
        if n and (labels.min() < 0 or labels.max() >= len(self.classes)):
            raise ValueError(f"dataset: labels must be indices into the {len(self.classes)} classes")

    def __len__(self) -> int:
        return len(self.features)

    def subset(self, indices) -> Dataset:
        indices = np.asarray(indices, dtype=np.int64)
        return Dataset(
            utterance_ids=np.asarray(self.utterance_ids)[indices],
            features=[self.features[i] for i in indices],
            labels=np.asarray(self.labels)[indices],
            groups=np.asarray(self.groups)[indices],
            speakers=np.asarray(self.speakers)[indices],
            classes=list(self.classes),
        )

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(np.asarray(self.labels), minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts)}


def make_folds(dataset: Dataset, n_folds: int, seed: int) -> list[Fold]:
    """Speaker-independent folds over the dataset's groups, balanced in size, fixed by the seed."""
    return grouped_folds(dataset.groups, dataset.speakers, n_folds, seed)


# -- results of one (method, fold) -------------------------------------------------------------------
@dataclass
class UtterancePrediction:
    utterance_id: object
    fold: int
    true_label: int  # index into the dataset's classes
    predicted_label: int | None  # None: the CTC decoding held no emotion (an error, as the authors counted it)
    probabilities: np.ndarray  # (K,) in the dataset's class order
    # framewise: (n_frames, K); ctc: (n_frames, K+1) with the blank last; otherwise None
    frame_probabilities: np.ndarray | None = None
    # ctc: [(emotion index, start_frame, end_frame)], end exclusive
    decoded_sequence: list[tuple[int, int, int]] | None = None


@dataclass
class FoldResult:
    method: str
    fold: int
    n_train: int
    n_test: int
    seconds: float
    # per result row: overall_accuracy, mean_class_accuracy, n, confusion (K x K list), n_empty, n_multi
    metrics: dict[str, dict]
    predictions: dict[str, list[UtterancePrediction]]
    training: dict = field(default_factory=dict)  # networks: epochs run, best epoch, loss history

    def to_json(self) -> dict:
        """Everything but the predictions (see :func:`prediction_json`)."""
        return {
            "method": self.method,
            "fold": self.fold,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "seconds": round(self.seconds, 3),
            "training": self.training,
            "metrics": self.metrics,
        }


def _python_id(uid):
    """Database ids arrive as numpy integers; drivers and JSON want Python ones."""
    return uid.item() if isinstance(uid, np.generic) else uid


def _full_probabilities(estimator, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, K) with a column for every dataset class, also those absent from the training fold."""
    full = np.zeros((len(proba), n_classes))
    full[:, np.asarray(estimator.classes_, dtype=np.int64)] = proba
    return full


def _frames_in_dataset_classes(estimator, frame_proba: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_frames, K+1) with the dataset's K classes then the blank, whatever the fold's classes_."""
    full = np.zeros((len(frame_proba), n_classes + 1))
    full[:, np.asarray(estimator.classes_, dtype=np.int64)] = frame_proba[:, :-1]
    full[:, -1] = frame_proba[:, -1]
    return full


def _row_outcome(test: Dataset, fold: int, predicted, probabilities, frame_probabilities=None, decoded=None):
    """(metrics dict, predictions) of one result row. ``predicted``: (n,) class indices, -1 = none."""
    n_classes = len(test.classes)
    predicted = np.asarray(predicted, dtype=np.int64)
    scores = score(test.labels, predicted, n_classes)
    metrics = {
        **scores.to_dict(),
        "confusion": confusion_matrix(test.labels, predicted, n_classes).tolist(),
        "n_empty": int(np.sum(predicted == NO_PREDICTION)),
        "n_multi": 0 if decoded is None else sum(len(spans) > 1 for spans in decoded),
    }
    predictions = [
        UtterancePrediction(
            utterance_id=_python_id(test.utterance_ids[i]),
            fold=fold,
            true_label=int(test.labels[i]),
            predicted_label=None if predicted[i] == NO_PREDICTION else int(predicted[i]),
            probabilities=probabilities[i],
            frame_probabilities=None if frame_probabilities is None else frame_probabilities[i],
            decoded_sequence=None if decoded is None else decoded[i],
        )
        for i in range(len(test))
    ]
    return metrics, predictions


def run_fold(
    method: str,
    config: ExperimentConfig,
    dataset: Dataset,
    fold: Fold,
    progress: ProgressCallback | None = None,
) -> FoldResult:
    """Fit ``method`` on the fold's training utterances and predict its test utterances."""
    progress = progress or ignore_progress
    speakers = np.asarray(dataset.speakers)
    check_no_speaker_leak(speakers[fold.train_indices], speakers[fold.test_indices])
    train, test = dataset.subset(fold.train_indices), dataset.subset(fold.test_indices)
    n_classes = len(dataset.classes)
    started = time.perf_counter()

    def forward(event: ProgressEvent) -> None:
        detail = {**event.detail, "method": method, "fold": fold.index}
        progress(ProgressEvent(stage=method, done=event.done, total=event.total, detail=detail))

    forward(ProgressEvent(stage=method, done=0, total=1))
    estimator = build_estimator(method, config)
    estimator.fit(train.features, train.labels, groups=train.groups, progress=forward)

    metrics: dict[str, dict] = {}
    predictions: dict[str, list[UtterancePrediction]] = {}
    if method == "ctc":
        frame_proba = estimator.predict_frame_proba(test.features)
        probabilities = _full_probabilities(estimator, estimator.proba_from_frame_proba(frame_proba), n_classes)
        frames = [_frames_in_dataset_classes(estimator, p, n_classes) for p in frame_proba]
        for row in METHODS[method].rows:
            decodings = estimator.decode_frame_proba(frame_proba, row.decoder)
            # decoded emotions are positions in the fold's classes_; report dataset class indices
            decoded = [[(int(estimator.classes_[e]), start, end) for e, start, end in d.spans] for d in decodings]
            predicted = estimator.labels_from_decodings(decodings)
            metrics[row.name], predictions[row.name] = _row_outcome(
                test, fold.index, predicted, probabilities, frames, decoded
            )
    elif method == "framewise":
        frame_proba = estimator.predict_frame_proba(test.features)
        shares, winners = estimator.votes_from_frame_proba(frame_proba)
        probabilities = _full_probabilities(estimator, shares, n_classes)
        frames = [_full_probabilities(estimator, p, n_classes) for p in frame_proba]
        metrics[method], predictions[method] = _row_outcome(
            test, fold.index, estimator.classes_[winners], probabilities, frames
        )
    else:
        probabilities = _full_probabilities(estimator, estimator.predict_proba(test.features), n_classes)
        metrics[method], predictions[method] = _row_outcome(
            test, fold.index, estimator.predict(test.features), probabilities
        )

    training = {}
    if hasattr(estimator, "history_"):
        training = {
            "epochs_run": len(estimator.history_),  # over all networks of an ensemble
            "best_epochs": estimator.best_epochs_,
            "n_training_utterances": estimator.n_training_utterances_,
            "history": estimator.history_,
        }
    forward(ProgressEvent(stage=method, done=1, total=1, detail={"finished": True}))
    return FoldResult(
        method=method,
        fold=fold.index,
        n_train=len(train),
        n_test=len(test),
        seconds=time.perf_counter() - started,
        metrics=metrics,
        predictions=predictions,
        training=training,
    )


def fit_final(method: str, config: ExperimentConfig, dataset: Dataset, progress: ProgressCallback | None = None):
    """One estimator of ``method`` fitted on every utterance of the dataset (for inference)."""
    progress = progress or ignore_progress

    def forward(event: ProgressEvent) -> None:
        detail = {**event.detail, "method": method}
        progress(ProgressEvent(stage=method, done=event.done, total=event.total, detail=detail))

    estimator = build_estimator(method, config)
    return estimator.fit(dataset.features, dataset.labels, groups=dataset.groups, progress=forward)


# -- the whole experiment ------------------------------------------------------------------------
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
    n_folds: int = 5,
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
        fold_results = [result for _, result in sorted(zip(order, results), key=lambda pair: pair[0])]
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
