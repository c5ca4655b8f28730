"""The utterances of one corpus as the methods see them: frame features, labels and CV groups."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
        return {name: int(count) for name, count in zip(self.classes, counts, strict=True)}
