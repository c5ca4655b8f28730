"""Speaker-independent folds: balanced, deterministic, never leaking a speaker."""

import numpy as np
import pytest

from models_app.ser import cv


def _groups(sizes: dict[str, int]) -> np.ndarray:
    return np.array([name for name, size in sizes.items() for _ in range(size)])


def test_whole_groups_go_to_one_fold_and_sizes_are_balanced():
    groups = _groups({"A": 5, "B": 4, "C": 3, "D": 3, "E": 1})
    folds = cv.assign_folds(groups, n_folds=2, seed=0)
    for name in "ABCDE":
        assert len(set(folds[groups == name])) == 1
    # largest first into the emptier fold: A|B, then C and D split, E to the smaller: 8 and 8
    assert sorted(np.bincount(folds)) == [8, 8]


def test_same_seed_same_folds_and_the_seed_orders_equal_sized_groups():
    groups = _groups({f"g{i}": 4 for i in range(10)})
    first = cv.assign_folds(groups, 5, seed=1)
    np.testing.assert_array_equal(first, cv.assign_folds(groups, 5, seed=1))
    assert any(not np.array_equal(first, cv.assign_folds(groups, 5, seed=s)) for s in range(2, 6))
    assert list(np.bincount(first)) == [8] * 5


def test_too_few_groups_is_a_clear_error():
    with pytest.raises(ValueError, match="only 3 speaker-independent groups"):
        cv.assign_folds(_groups({"A": 2, "B": 2, "C": 2}), n_folds=5, seed=0)


def test_sessions_sharing_a_speaker_are_merged():
    sessions = np.array(["S1", "S1", "S2", "S2", "S3"])
    speakers = np.array(["a", "b", "b", "c", "d"])
    codes = cv.merge_groups_sharing_speakers(sessions, speakers)
    assert codes[0] == codes[1] == codes[2] == codes[3]
    assert codes[4] != codes[0]


def test_grouped_folds_never_put_a_speaker_on_both_sides():
    sessions = np.array(["S1", "S1", "S2", "S2", "S3", "S3", "S4"])
    speakers = np.array(["a", "b", "b", "c", "d", "e", "f"])  # b is in S1 and S2
    for fold in cv.grouped_folds(sessions, speakers, n_folds=3, seed=0):
        assert not set(speakers[fold.train_indices]) & set(speakers[fold.test_indices])
        assert len(fold.train_indices) + len(fold.test_indices) == len(sessions)


def test_the_leak_check_fires():
    with pytest.raises(cv.SpeakerLeakError, match="spk2"):
        cv.check_no_speaker_leak(["spk1", "spk2"], ["spk2", "spk3"])
    cv.check_no_speaker_leak(["spk1"], ["spk3"])  # disjoint: no error
