"""Random-forest methods: the paper's framewise baseline (sec. 4.2.1), a per-utterance
statistics forest (our reference row) and a forest on eGeMAPS's per-utterance functionals (the
field's classic baseline)."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import RandomForestClassifier

from models_app.ser.columns import spread_columns
from models_app.ser.methods.inputs import ENERGY_FEATURE, check_sequences, encode_labels


def loudest_frames(sequence: np.ndarray, n_frames: int, energy_column: int = ENERGY_FEATURE) -> np.ndarray:
    """(min(n_frames, T), F): the frames of highest energy (column ``energy_column``, the paper's
    energy by default), in time order. Equal energies keep the earlier frame."""
    order = np.argsort(-sequence[:, energy_column], kind="stable")[:n_frames]
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
        energy_column: int = ENERGY_FEATURE,
        n_jobs: int = 1,
        random_state=None,
    ):
        self.frames_per_utterance = frames_per_utterance
        self.energy_column = energy_column
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
        if not 0 <= self.energy_column < self.n_features_in_:
            raise ValueError(f"energy_column {self.energy_column} is not one of the {self.n_features_in_} features")
        chosen = [loudest_frames(s, self.frames_per_utterance, self.energy_column) for s in sequences]
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
    """Summarise each utterance by per-feature statistics over its frames; a random forest.

    ``statistics="functionals"``: the utterance already comes summarised, as one (1, V) vector
    (eGeMAPSv02's 88 functionals, computed by openSMILE over the whole utterance); the forest
    reads it as it is."""

    def __init__(
        self,
        *,
        percentiles: tuple[float, ...] = (10.0, 50.0, 90.0),
        n_estimators: int = 500,
        class_weight: str | None = "balanced",
        statistics: str = "frames",
        n_jobs: int = 1,
        random_state=None,
    ):
        self.percentiles = percentiles
        self.statistics = statistics
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _statistics(self, X, n_features=None) -> np.ndarray:
        if self.statistics == "functionals":
            return UtteranceVectorForest._vectors(X, n_features)
        if self.statistics != "frames":
            raise ValueError(f"statistics must be 'frames' or 'functionals', got {self.statistics!r}")
        return np.stack([utterance_statistics(s, self.percentiles) for s in check_sequences(X, n_features)])

    def fit(self, X, y, groups=None, progress=None):
        statistics = self._statistics(X)
        self.classes_, y_indices = encode_labels(y, len(statistics))
        per_feature = 1 if self.statistics == "functionals" else 2 + len(self.percentiles)
        self.n_features_in_ = len(statistics[0]) // per_feature
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


class UtteranceVectorForest(ClassifierMixin, BaseEstimator):
    """A random forest on one descriptor vector per utterance (eGeMAPSv02's 88 functionals).

    X holds each utterance as a one-frame sequence, (1, V), the shape every method takes
    (``Dataset.vector_sequences``)."""

    def __init__(
        self,
        *,
        n_estimators: int = 500,
        class_weight: str | None = "balanced",
        n_jobs: int = 1,
        random_state=None,
    ):
        self.n_estimators = n_estimators
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state

    @staticmethod
    def _vectors(X, n_features=None) -> np.ndarray:
        sequences = check_sequences(X, n_features)
        lengths = {len(s) for s in sequences}
        if lengths != {1}:
            raise ValueError("UtteranceVectorForest takes one vector per utterance: (1, V) sequences")
        return np.concatenate(sequences)

    def fit(self, X, y, groups=None, progress=None):
        vectors = self._vectors(X)
        self.classes_, y_indices = encode_labels(y, len(vectors))
        self.n_features_in_ = vectors.shape[1]
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            class_weight=self.class_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(vectors, y_indices)
        return self

    def predict_proba(self, X) -> np.ndarray:
        if not hasattr(self, "forest_"):
            raise ValueError("this UtteranceVectorForest is not fitted yet: call fit first")
        proba = self.forest_.predict_proba(self._vectors(X, self.n_features_in_))
        return spread_columns(proba, self.forest_.classes_, len(self.classes_))

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
