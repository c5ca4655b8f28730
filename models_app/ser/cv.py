"""Speaker-independent cross-validation (paper sec. 4.4).

Folds are built from groups: the corpus's sessions (IEMOCAP: one pair of speakers per session,
the paper's protocol) or its speakers where it has no sessions (the importers then give each
speaker a session of their own). Sessions that share a speaker are merged into one group first,
so a speaker can never end up on both sides of a split; :func:`check_no_speaker_leak` asserts it.

Feature scaling is never fitted here: each estimator fits its own scaler inside ``fit`` on the
training fold it is given, so test data cannot leak into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_FOLDS = 5  # the paper's 5-fold protocol (IEMOCAP's five sessions, one fold each)
MIN_FOLDS = 2  # one fold trains while the other tests
# More folds than this leave test folds of a speaker or two on the corpora we know (EmoDB: 10
# speakers; IEMOCAP: 5 sessions), and each fold costs a full training of every network.
MAX_FOLDS = 20


class SpeakerLeakError(AssertionError):
    """A speaker is in both the training and the test data of a fold."""


@dataclass(frozen=True)
class Fold:
    index: int
    train_indices: np.ndarray  # (n_train,) int positions into the dataset
    test_indices: np.ndarray  # (n_test,)


def check_no_speaker_leak(train_speakers, test_speakers) -> None:
    """Raise SpeakerLeakError if any speaker is on both sides. A real check, not ``assert``
    (which ``python -O`` removes)."""
    shared = sorted(set(map(str, train_speakers)) & set(map(str, test_speakers)))
    if shared:
        raise SpeakerLeakError(f"speakers in both training and test data: {', '.join(shared[:10])}")


def merge_groups_sharing_speakers(groups, speakers) -> np.ndarray:
    """(n,) int group codes: the given groups, with any two that share a speaker merged
    (connected components of the group-speaker graph)."""
    groups = np.asarray(groups).astype(str)
    speakers = np.asarray(speakers).astype(str)
    if groups.shape != speakers.shape:
        raise ValueError("groups and speakers must have the same length")
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for group, speaker in zip(groups, speakers, strict=True):
        a, b = find("g:" + group), find("s:" + speaker)
        if a != b:
            parent[max(a, b)] = min(a, b)
    roots = np.array([find("g:" + group) for group in groups])
    _, codes = np.unique(roots, return_inverse=True)
    return codes.astype(np.int64)


def assign_folds(groups, n_folds: int, seed: int) -> np.ndarray:
    """(n,) fold index of every sample; whole groups go to one fold.

    Balanced in size: groups are placed largest first, each into the fold that holds the fewest
    samples so far (the lowest fold index on a tie). The seed orders groups of equal size, so the
    same seed always gives the same folds.
    """
    groups = np.asarray(groups)
    if n_folds < 2:
        raise ValueError("cross-validation needs at least 2 folds")
    if groups.size == 0:
        raise ValueError("no samples to split")
    unique_groups, codes, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if len(unique_groups) < n_folds:
        raise ValueError(
            f"only {len(unique_groups)} speaker-independent groups (sessions or speakers): "
            f"choose at most {len(unique_groups)} folds"
        )
    shuffled = np.random.default_rng(seed).permutation(len(unique_groups))
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    fold_sizes = np.zeros(n_folds, dtype=np.int64)
    fold_of_group = np.empty(len(unique_groups), dtype=np.int64)
    for group in order:
        fold = int(np.argmin(fold_sizes))
        fold_of_group[group] = fold
        fold_sizes[fold] += sizes[group]
    return fold_of_group[codes]


def grouped_folds(groups, speakers, n_folds: int, seed: int) -> list[Fold]:
    """Speaker-independent folds over samples with the given groups and speakers."""
    speakers = np.asarray(speakers).astype(str)
    fold_of_sample = assign_folds(merge_groups_sharing_speakers(groups, speakers), n_folds, seed)
    folds = []
    for index in range(n_folds):
        test = np.flatnonzero(fold_of_sample == index)
        train = np.flatnonzero(fold_of_sample != index)
        check_no_speaker_leak(speakers[train], speakers[test])
        folds.append(Fold(index=index, train_indices=train, test_indices=test))
    return folds
