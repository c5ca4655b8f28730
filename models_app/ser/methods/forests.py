"""Random-forest methods: the paper's framewise baseline (sec. 4.2.1) and a per-utterance
statistics forest (our reference row)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from models_app.ser.columns import spread_columns
from models_app.ser.methods.inputs import ENERGY_FEATURE, check_sequences, encode_labels


def loudest_frames(sequence: np.ndarray, n_frames: int) -> np.ndarray:
    """(min(n_frames, T), F): the frames of highest energy (feature 1), in time order.
    Equal energies keep the earlier frame."""
    order = np.argsort(-sequence[:, ENERGY_FEATURE], kind="stable")[:n_frames]
    return sequence[np.sort(order)]


class FramewiseForest(ClassifierMixin, BaseEstimator):
    """Learn from the ``frames_per_utterance`` loudest frames of each training utterance (labelled
    with the utterance's label); classify every frame of a test utterance and take a majority vote.

    ``predict_proba`` is the share of frames voting for each class; ``predict`` its argmax, with
    a tie between classes broken by the higher mean frame probability (the authors' tie-break was
    the lowest class index, an arbitrary choice).
    """

    def __init__(
        self,
        *,
        frames_per_utterance: int = 2,
        n_estimators: int = 1000,
        class_weight: str | None = "balanced",
        min_samples_leaf: int = 1,
        n_jobs: int = 1,
        random_state=None,
    ):
        self.frames_per_utterance = frames_per_utterance
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X, y, groups=None, progress=None):
        if self.frames_per_utterance < 1:
            raise ValueError("frames_per_utterance must be at least 1")
        sequences = check_sequences(X)
        self.classes_, y_indices = encode_labels(y, len(sequences))
        self.n_features_in_ = sequences[0].shape[1]
        chosen = [loudest_frames(s, self.frames_per_utterance) for s in sequences]
        frames = np.concatenate(chosen)  # (n_chosen, F)
        frame_labels = np.concatenate([np.full(len(c), label) for c, label in zip(chosen, y_indices, strict=True)])
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            class_weight=self.class_weight,
            min_samples_leaf=self.min_samples_leaf,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(frames, frame_labels)
        return self

    def predict_frame_proba(self, X) -> list[np.ndarray]:
        """One (n_frames, K) array of per-frame class probabilities per utterance."""
        if not hasattr(self, "forest_"):
            raise ValueError("this FramewiseForest is not fitted yet: call fit first")
        sequences = check_sequences(X, n_features=self.n_features_in_)
        frame_proba = self._full_columns(self.forest_.predict_proba(np.concatenate(sequences)))
        bounds = np.cumsum([len(s) for s in sequences])[:-1]
        return np.split(frame_proba, bounds)

    def _full_columns(self, proba: np.ndarray) -> np.ndarray:
        # The forest was fitted on class indices, so its classes_ are column numbers here.
        return spread_columns(proba, self.forest_.classes_, len(self.classes_))

    @staticmethod
    def votes_from_frame_proba(frame_proba: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(vote shares (n, K), predicted class index (n,)) from per-frame probabilities."""
        n_classes = frame_proba[0].shape[1]
        shares = np.empty((len(frame_proba), n_classes))
        winners = np.empty(len(frame_proba), dtype=np.int64)
        for row, probabilities in enumerate(frame_proba):
            votes = np.bincount(np.argmax(probabilities, axis=1), minlength=n_classes)
            shares[row] = votes / votes.sum()
            tied = np.flatnonzero(votes == votes.max())
            winners[row] = tied[np.argmax(probabilities.mean(axis=0)[tied])]
        return shares, winners

    def predict_proba(self, X) -> np.ndarray:
        return self.votes_from_frame_proba(self.predict_frame_proba(X))[0]

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.votes_from_frame_proba(self.predict_frame_proba(X))[1]]


def utterance_statistics(sequence: np.ndarray, percentiles) -> np.ndarray:
    """(F * (2 + len(percentiles)),): per feature mean, standard deviation and percentiles."""
    return np.concatenate(
        [sequence.mean(axis=0), sequence.std(axis=0)] + [np.percentile(sequence, q, axis=0) for q in percentiles]
    )


class UtteranceStatsForest(ClassifierMixin, BaseEstimator):
    """Summarise each utterance by per-feature statistics over its frames; a random forest."""

    def __init__(
        self,
        *,
        percentiles: tuple[float, ...] = (10.0, 50.0, 90.0),
        n_estimators: int = 500,
        class_weight: str | None = "balanced",
        n_jobs: int = 1,
        random_state=None,
    ):
        self.percentiles = percentiles
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _statistics(self, X, n_features=None) -> np.ndarray:
        return np.stack([utterance_statistics(s, self.percentiles) for s in check_sequences(X, n_features)])

    def fit(self, X, y, groups=None, progress=None):
        statistics = self._statistics(X)
        self.classes_, y_indices = encode_labels(y, len(statistics))
        self.n_features_in_ = len(statistics[0]) // (2 + len(self.percentiles))
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(statistics, y_indices)
        return self

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "forest_"):
            raise ValueError("this UtteranceStatsForest is not fitted yet: call fit first")
        proba = self.forest_.predict_proba(self._statistics(X, self.n_features_in_))
        # The forest was fitted on class indices, so its classes_ are column numbers here.
        return spread_columns(proba, self.forest_.classes_, len(self.classes_))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
