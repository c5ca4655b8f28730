"""The paper's Dummy row: always the majority class of the training fold."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from models_app.ser.methods.inputs import check_sequences, encode_labels


class DummyMajority(ClassifierMixin, BaseEstimator):
    """Predicts the most frequent training class (the first in ``classes_`` on a tie);
    ``predict_proba`` gives the training class shares, whose argmax is that class."""

    def __init__(self, random_state=None):
        self.random_state = random_state  # unused: kept so every method takes the same arguments

    def fit(self, X, y, groups=None, progress=None):
        sequences = check_sequences(X)
        self.classes_, y_indices = encode_labels(y, len(sequences))
        self.n_features_in_ = sequences[0].shape[1]
        counts = np.bincount(y_indices, minlength=len(self.classes_))
        self.class_prior_ = counts / counts.sum()
        self.majority_index_ = int(np.argmax(counts))
        return self

    def _check_fitted(self, X) -> int:
        if not hasattr(self, "class_prior_"):
            raise ValueError("this DummyMajority is not fitted yet: call fit first")
        return len(check_sequences(X, n_features=self.n_features_in_))

    def predict(self, X) -> np.ndarray:
        return np.repeat(self.classes_[self.majority_index_], self._check_fitted(X))

    def predict_proba(self, X) -> np.ndarray:
        return np.tile(self.class_prior_, (self._check_fitted(X), 1))
