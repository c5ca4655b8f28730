"""Checking and preparing what every method receives: X, a list of variable-length frame
sequences, and y, one label per sequence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ENERGY_FEATURE = 1  # pyAudioAnalysis order: zcr, energy, energy_entropy, ... (the paper's "loudness")


def check_sequences(X, n_features: int | None = None) -> list[np.ndarray]:
    """X: a sequence of (n_frames, n_features) arrays, n_frames >= 1 (lengths may differ).

    Returns float32 arrays. Raises ValueError naming the first bad utterance (wrong shape, no
    frames, non-finite values, a feature count different from the others or from ``n_features``).
    """
    if isinstance(X, np.ndarray) and X.ndim == 3:
        X = list(X)
    if not isinstance(X, Sequence) or isinstance(X, (str, bytes)):
        raise ValueError("X must be a list of (n_frames, n_features) arrays")
    if len(X) == 0:
        raise ValueError("X holds no utterances")
    checked = []
    for index, sequence in enumerate(X):
        array = np.asarray(sequence, dtype=np.float32)
        if array.ndim != 2:
            raise ValueError(f"utterance {index}: expected (n_frames, n_features), got shape {array.shape}")
        if array.shape[0] == 0:
            raise ValueError(f"utterance {index}: has no frames")
        expected = n_features if n_features is not None else (checked[0].shape[1] if checked else None)
        if expected is not None and array.shape[1] != expected:
            raise ValueError(f"utterance {index}: {array.shape[1]} features, expected {expected}")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"utterance {index}: holds NaN or infinite values")
        checked.append(array)
    return checked


def encode_labels(y, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """(classes_, y as indices into classes_). classes_ is sorted, as scikit-learn's."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples:
        raise ValueError(f"y must be 1-D with one label per utterance ({n_samples}), got shape {y.shape}")
    classes, indices = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"training data holds a single class ({classes[0]!r}): nothing to learn")
    return classes, indices.astype(np.int64)


def inverse_frequency_weights(y_indices: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes,) weight total/count per class (the authors' CTC sample weights); 0 for an absent class."""
    counts = np.bincount(y_indices, minlength=n_classes).astype(np.float64)
    weights = np.zeros(n_classes)
    present = counts > 0
    weights[present] = len(y_indices) / counts[present]
    return weights


class FrameScaler:
    """Per-feature standardisation fitted on the frames of the training sequences only."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.scale = np.asarray(scale, dtype=np.float32)

    @classmethod
    def fit(cls, sequences: list[np.ndarray]) -> FrameScaler:
        frames = np.concatenate(sequences, axis=0).astype(np.float64)
        scale = frames.std(axis=0)
        # A constant feature (e.g. chroma on pure tones) would divide by zero: leave it unscaled.
        scale[scale < 1e-8] = 1.0
        return cls(frames.mean(axis=0), scale)

    def transform(self, sequences: list[np.ndarray]) -> list[np.ndarray]:
        return [((s - self.mean) / self.scale).astype(np.float32) for s in sequences]
