"""The utterances of one corpus as the methods see them: frame features, labels and CV groups."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Utterances of one corpus ready for the methods.

    features[i]: (n_frames_i, F) float32 (F = 34 for the paper's set); labels: (n,) int indices
    into ``classes``; groups: (n,) cross-validation group of each utterance (its session, or
    speaker); speakers: (n,); utterance_vectors: (n, V) float32 per-utterance descriptors of sets
    that have them (eGeMAPS's 88 functionals), else None.
    """

    utterance_ids: np.ndarray
    features: list[np.ndarray]
    labels: np.ndarray
    groups: np.ndarray
    speakers: np.ndarray
    classes: list[str]
    utterance_vectors: np.ndarray | None = field(default=None)

    def __post_init__(self):
        n = len(self.features)
        names = ("utterance_ids", "labels", "groups", "speakers")
        if self.utterance_vectors is not None:
            names += ("utterance_vectors",)
        for name in names:
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
            utterance_vectors=None if self.utterance_vectors is None else np.asarray(self.utterance_vectors)[indices],
        )

    def vector_sequences(self) -> list[np.ndarray]:
        """The per-utterance descriptors as one-frame sequences (the input every method takes)."""
        if self.utterance_vectors is None:
            raise ValueError("this dataset has no per-utterance descriptors (choose the egemaps feature set)")
        return [row[None, :] for row in np.asarray(self.utterance_vectors, dtype=np.float32)]

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(np.asarray(self.labels), minlength=len(self.classes))
        return {name: int(count) for name, count in zip(self.classes, counts, strict=True)}
