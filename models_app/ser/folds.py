"""One method on one fold: fit on the training utterances, predict the test utterances, score each
result row (:func:`run_fold`); and one method fitted on every utterance for inference
(:func:`fit_final`). The estimators come from ``ser/registry.py``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from models_app.ser.columns import spread_columns
from models_app.ser.config import ExperimentConfig
from models_app.ser.cv import Fold, check_no_speaker_leak, grouped_folds
from models_app.ser.dataset import Dataset
from models_app.ser.metrics import NO_PREDICTION, confusion_matrix, score
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress
from models_app.ser.registry import METHODS, build_estimator, reads_utterance_vectors


def method_inputs(method: str, config: ExperimentConfig, dataset: Dataset) -> list[np.ndarray]:
    """What ``method`` reads of each utterance: its frames, or its one descriptor vector."""
    if reads_utterance_vectors(method, config):
        return dataset.vector_sequences()
    return dataset.features


def make_folds(dataset: Dataset, n_folds: int, seed: int) -> list[Fold]:
    """Speaker-independent folds over the dataset's groups, balanced in size, fixed by the seed."""
    return grouped_folds(dataset.groups, dataset.speakers, n_folds, seed)


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
    return spread_columns(proba, estimator.classes_, n_classes)


def _frames_in_dataset_classes(estimator, frame_proba: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_frames, K+1) with the dataset's K classes then the blank, whatever the fold's classes_."""
    return spread_columns(frame_proba, [*estimator.classes_, n_classes], n_classes + 1)


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
    train_inputs, test_inputs = method_inputs(method, config, train), method_inputs(method, config, test)
    estimator.fit(train_inputs, train.labels, groups=train.groups, progress=forward)

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
        probabilities = _full_probabilities(estimator, estimator.predict_proba(test_inputs), n_classes)
        metrics[method], predictions[method] = _row_outcome(
            test, fold.index, estimator.predict(test_inputs), probabilities
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
    inputs = method_inputs(method, config, dataset)
    return estimator.fit(inputs, dataset.labels, groups=dataset.groups, progress=forward)
