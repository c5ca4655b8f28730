"""The paper's metrics against a confusion matrix counted by hand."""

import math

import numpy as np
import pytest

from models_app.ser import metrics

# 10 utterances, 3 classes; the last prediction is an empty CTC decoding (-1).
Y_TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2]
Y_PRED = [0, 0, 1, 1, 2, 2, 2, 2, 0, -1]


def test_confusion_matrix_by_hand():
    expected = [
        [2, 1, 0],  # class 0: two right, one taken for class 1
        [0, 1, 1],
        [1, 0, 3],  # class 2: three right, one taken for 0, one empty (no column)
    ]
    np.testing.assert_array_equal(metrics.confusion_matrix(Y_TRUE, Y_PRED, 3), expected)


def test_overall_accuracy_counts_an_empty_decoding_as_wrong():
    assert metrics.overall_accuracy(Y_TRUE, Y_PRED) == pytest.approx(6 / 10)


def test_mean_class_accuracy_by_hand():
    # recalls 2/3, 1/2, 3/5 -> (20 + 15 + 18) / 30 / 3 = 53/90
    np.testing.assert_allclose(metrics.per_class_recall(Y_TRUE, Y_PRED, 3), [2 / 3, 1 / 2, 3 / 5])
    assert metrics.mean_class_accuracy(Y_TRUE, Y_PRED, 3) == pytest.approx(53 / 90)


def test_mean_class_accuracy_averages_only_classes_present():
    # class 2 absent from y_true: mean of recalls 1/2 and 1/1
    assert metrics.mean_class_accuracy([0, 0, 1], [0, 1, 1], 3) == pytest.approx(0.75)
    assert math.isnan(metrics.per_class_recall([0, 0, 1], [0, 1, 1], 3)[2])


def test_mean_and_sample_std_over_folds():
    mean, std = metrics.mean_and_std([0.5, 0.7])
    assert mean == pytest.approx(0.6)
    assert std == pytest.approx(math.sqrt(0.02))  # ddof=1: (0.1^2 + 0.1^2) / 1
    assert metrics.mean_and_std([0.4]) == (0.4, 0.0)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError):
        metrics.confusion_matrix([0, 3], [0, 0], 3)
    with pytest.raises(ValueError):
        metrics.confusion_matrix([0, 1], [0, 5], 3)
    with pytest.raises(ValueError):
        metrics.overall_accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        metrics.overall_accuracy([], [])
