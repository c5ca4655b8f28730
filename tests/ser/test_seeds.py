"""Table 1 over model seeds on fixed folds, and the paired tests behind "A beats B"."""

import json
from dataclasses import replace

import numpy as np
import pytest

from models_app.ser.config import preset
from models_app.ser.dataset import Dataset
from models_app.ser.experiment import run_experiment, run_seeds
from models_app.ser.seeds import SeedsResult, paired_test, sign_flip_p_value
from tests.factories import synthetic_sequences


def test_the_sign_flip_test_counts_sign_patterns_by_hand():
    # differences 0.1, 0.2, 0.3: of the 8 sign patterns only (+,+,+) reaches the observed mean 0.2.
    assert sign_flip_p_value(np.array([0.1, 0.2, 0.3])) == pytest.approx(1 / 8)
    # 0.3, -0.1: observed mean 0.1; patterns' means 0.2, -0.1... -> (+,+) 0.2, (+,-) 0.1: 2 of 4.
    assert sign_flip_p_value(np.array([0.3, -0.1])) == pytest.approx(2 / 4)
    assert sign_flip_p_value(np.zeros(4)) == 1.0


def test_the_paired_test_reads_seeds_times_folds():
    a = np.array([[0.8, 0.7, 0.9], [0.75, 0.72, 0.85]])
    b = np.array([[0.6, 0.7, 0.8], [0.70, 0.70, 0.80]])
    result = paired_test(a, b)
    assert result["n_pairs"] == 6 and result["n_wins"] == 5 and result["n_losses"] == 0
    assert result["mean_difference"] == pytest.approx(np.mean(a - b))
    # fold means of the differences 0.125, 0.01, 0.075: all positive, 1 pattern of 8
    assert result["p_value_folds"] == pytest.approx(1 / 8)
    # Wilcoxon on the five non-zero differences, all positive: exact one-sided p = 1/32
    assert result["p_value"] == pytest.approx(1 / 32)
    with pytest.raises(ValueError, match="same"):
        paired_test(a, b[:, :2])


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    X, y, speakers = synthetic_sequences(n_per_class=10, n_speakers=5, emotional_share=1.0, seed=0)
    return Dataset(np.arange(len(X)), X, y, speakers, speakers, ["anger", "neutral", "sadness"])


@pytest.fixture(scope="module")
def config():
    fast = preset("fast")
    return replace(
        fast,
        framewise=replace(fast.framewise, n_estimators=10),
        utterance_stats=replace(fast.utterance_stats, n_estimators=10),
    )


def test_seeds_vary_the_models_on_fixed_folds_and_report_mean_and_std(dataset, config):
    methods = ["dummy", "framewise", "utterance_stats"]
    result = run_seeds(dataset, methods, config, model_seeds=[0, 1, 2], n_folds=5, seed=3)
    assert result.seeds == [0, 1, 2]
    # Each seed's run is the single run with that model seed, on the folds of seed 3.
    single = run_experiment(dataset, methods, replace(config, seed=1), n_folds=5, seed=3)
    assert (
        result.results[1].summaries["framewise"].mean_class_accuracy
        == single.summaries["framewise"].mean_class_accuracy
    )
    for fold, other in zip(result.results[0].folds, result.results[2].folds, strict=True):
        np.testing.assert_array_equal(fold.test_indices, other.test_indices)

    scores = [r.summaries["utterance_stats"].mean_class_accuracy for r in result.results]
    mean, std = result.mean_and_std("utterance_stats", "mean_class_accuracy")
    assert mean == pytest.approx(np.mean(scores)) and std == pytest.approx(np.std(scores, ddof=1))
    assert result.per_fold("framewise", "mean_class_accuracy").shape == (3, 5)

    data = json.loads(json.dumps(result.to_json()))
    assert data["model_seeds"] == [0, 1, 2] and data["predictions_seed"] == 0
    row = data["methods"]["utterance_stats"]
    assert row["mean_class_accuracy"] == pytest.approx(mean)  # the existing key now holds the mean
    assert row["mean_class_accuracy_seeds"] == pytest.approx(scores)
    assert row["mean_class_accuracy_seed_std"] == pytest.approx(std)
    assert [entry["seed"] for entry in data["per_seed"]] == [0, 1, 2]
    assert data["per_seed"][2]["methods"]["utterance_stats"]["mean_class_accuracy"] == pytest.approx(scores[2])
    pairs = {(c["a"], c["b"]) for c in data["comparisons"]}
    assert len(pairs) == 3  # every pair of the three rows once, the higher mean first
    assert [(c["a"], c["b"]) for c in data["paper_ordering"]] == [("framewise", "dummy")]

    table = result.format_table()
    assert "Mean ± standard deviation over model seeds 0, 1, 2" in table
    assert "Per seed" in table and "The paper's ordering" in table
    assert f"{mean:.3f} ± {std:<6.3f}" in table


def test_results_on_different_folds_cannot_be_combined(dataset, config):
    first = run_experiment(dataset, ["dummy"], config, n_folds=5, seed=0)
    second = run_experiment(dataset, ["dummy"], config, n_folds=5, seed=1)
    # Fold seeds 0 and 1 place these five equal-size speakers in different orders.
    assert not all(
        np.array_equal(f.test_indices, g.test_indices) for f, g in zip(first.folds, second.folds, strict=True)
    )
    with pytest.raises(ValueError, match="different folds"):
        SeedsResult(seeds=[0, 1], results=[first, second])


def test_pooling_from_confusions_and_counts_equals_pooling_the_predictions():
    from models_app.ser.metrics import NO_PREDICTION, score
    from models_app.ser.seeds import fold_seed_metrics, pooled_scores

    # two folds, three classes; -1 is an empty decoding (an error in no confusion column)
    folds = [
        (np.array([0, 0, 1, 2]), np.array([0, NO_PREDICTION, 1, 1])),
        (np.array([1, 2, 2, 2, 0]), np.array([1, 2, 0, 2, 0])),
    ]
    stored = []
    for y_true, y_pred in folds:
        confusion = np.zeros((3, 3), dtype=int)
        for t, p in zip(y_true, y_pred, strict=True):
            if p != NO_PREDICTION:
                confusion[t, p] += 1
        metrics = {**score(y_true, y_pred, 3).to_dict(), "confusion": confusion.tolist()}
        stored.append(fold_seed_metrics(metrics, y_true, 3))
    everything = score(np.concatenate([f[0] for f in folds]), np.concatenate([f[1] for f in folds]), 3)
    # by hand: 6 of 9 right; recalls anger 2/3, neutral 2/2, sadness 2/4 -> (2/3 + 1 + 1/2) / 3
    assert pooled_scores(stored) == pytest.approx((6 / 9, (2 / 3 + 1 + 0.5) / 3))
    assert pooled_scores(stored) == pytest.approx((everything.overall_accuracy, everything.mean_class_accuracy))
