"""The experiment API on synthetic arrays: folds, one (method, fold) run, pooling, the JSON."""

import json
from dataclasses import replace

import numpy as np
import pytest

from models_app.ser.config import ExperimentConfig, preset
from models_app.ser.cv import Fold, SpeakerLeakError
from models_app.ser.dataset import Dataset
from models_app.ser.experiment import run_experiment
from models_app.ser.folds import FoldResult, UtterancePrediction, fit_final, make_folds, run_fold
from models_app.ser.registry import METHOD_NAMES
from models_app.ser.table1 import aggregate
from tests.factories import synthetic_sequences

CLASSES = ["anger", "neutral", "sadness"]


def tiny_config() -> ExperimentConfig:
    fast = preset("fast")
    return replace(
        fast,
        network=replace(fast.network, hidden_units=8, dense_units=16),
        training=replace(fast.training, epochs=3),
        ctc=replace(fast.ctc, beam_width=4),
        framewise=replace(fast.framewise, n_estimators=10),
        utterance_stats=replace(fast.utterance_stats, n_estimators=10),
    )


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    X, y, speakers = synthetic_sequences(n_per_class=12, n_speakers=6, emotional_share=1.0, seed=0)
    return Dataset(
        utterance_ids=np.arange(100, 100 + len(X)),
        features=X,
        labels=y,
        groups=speakers,  # no sessions: one group per speaker
        speakers=speakers,
        classes=CLASSES,
    )


def test_dataset_checks_its_columns_and_subsets(dataset):
    with pytest.raises(ValueError, match="labels has 2 entries"):
        three = dataset.subset([0, 1, 2])
        Dataset(three.utterance_ids, three.features, three.labels[:2], three.groups, three.speakers, CLASSES)
    with pytest.raises(ValueError, match="indices into the 3 classes"):
        Dataset([1], dataset.features[:1], np.array([3]), ["g"], ["s"], CLASSES)
    part = dataset.subset([2, 0])
    assert list(part.utterance_ids) == [102, 100]
    assert part.features[1] is dataset.features[0]


def test_folds_are_speaker_independent_and_cover_every_utterance_once(dataset):
    folds = make_folds(dataset, n_folds=3, seed=0)
    tested = np.concatenate([fold.test_indices for fold in folds])
    assert sorted(tested) == list(range(len(dataset)))
    for fold in folds:
        assert not set(dataset.speakers[fold.train_indices]) & set(dataset.speakers[fold.test_indices])
    assert [f.test_indices.tolist() for f in folds] == [f.test_indices.tolist() for f in make_folds(dataset, 3, 0)]


def test_a_leaking_fold_is_refused(dataset):
    everything = np.arange(len(dataset))
    with pytest.raises(SpeakerLeakError):
        run_fold("dummy", tiny_config(), dataset, Fold(index=0, train_indices=everything, test_indices=everything[:5]))


def test_whole_experiment_end_to_end(dataset):
    events = []
    result = run_experiment(dataset, list(METHOD_NAMES), tiny_config(), n_folds=3, seed=0, progress=events.append)
    data = json.loads(json.dumps(result.to_json()))  # must be plain JSON

    rows = ["dummy", "framewise", "onelabel", "ctc", "ctc_best_path", "ctc_exact", "utterance_stats"]
    assert list(data["methods"]) == rows
    assert data["classes"] == CLASSES and len(data["folds"]) == 3
    for row in rows:
        predictions = data["predictions"][row]
        assert sorted(p["utterance_id"] for p in predictions) == list(range(100, 100 + len(dataset)))
        correct = [p["predicted_label"] == p["true_label"] for p in predictions]
        assert data["methods"][row]["overall_accuracy"] == pytest.approx(np.mean(correct))
        fold_values = [fold["rows"][row]["overall_accuracy"] for fold in data["folds"]]
        assert data["methods"][row]["overall_accuracy_fold_mean"] == pytest.approx(np.mean(fold_values))
        assert data["methods"][row]["overall_accuracy_fold_std"] == pytest.approx(np.std(fold_values, ddof=1))
        assert np.sum(data["methods"][row]["confusion"]) + data["methods"][row]["n_empty"] == len(dataset)
        assert all(len(p["probabilities"]) == 3 for p in predictions)
    for fold in range(3):  # dummy: one answer per fold, the training fold's majority
        assert len({p["predicted_label"] for p in data["predictions"]["dummy"] if p["fold"] == fold}) == 1
    assert data["methods"]["utterance_stats"]["mean_class_accuracy"] > 0.8  # emotion in every frame: easy
    ctc_prediction = data["predictions"]["ctc"][0]
    assert len(ctc_prediction["frame_probabilities"][0]) == 4  # three classes and the blank
    assert "decoded" in ctc_prediction and "frame_probabilities" not in data["predictions"]["ctc_exact"][0]
    assert len(data["predictions"]["framewise"][0]["frame_probabilities"][0]) == 3
    assert data["folds"][0]["methods"]["ctc"]["training"]["epochs_run"] == 3
    # progress: per method and fold, with epochs and losses for the networks
    epochs = [e for e in events if e.stage == "onelabel" and "epoch" in e.detail]
    assert {(e.detail["fold"], e.detail["epoch"]) for e in epochs} == {(f, n) for f in range(3) for n in (1, 2, 3)}
    assert all("loss" in e.detail and e.detail["method"] == "onelabel" for e in epochs)
    assert "CTC (beam search)" in result.format_table()


def test_run_fold_is_deterministic(dataset):
    fold = make_folds(dataset, 3, seed=0)[1]
    first = run_fold("onelabel", tiny_config(), dataset, fold)
    again = run_fold("onelabel", tiny_config(), dataset, fold)
    assert len(first.predictions["onelabel"]) == len(fold.test_indices) > 0
    for a, b in zip(first.predictions["onelabel"], again.predictions["onelabel"], strict=True):
        np.testing.assert_array_equal(a.probabilities, b.probabilities)


def test_fit_final_uses_every_utterance(dataset):
    estimator = fit_final("framewise", tiny_config(), dataset)
    assert list(estimator.classes_) == [0, 1, 2]
    assert estimator.forest_.n_features_in_ == 34


def _prediction(uid, fold, true, predicted):
    return UtterancePrediction(uid, fold, true, predicted, np.zeros(3))


def test_aggregate_pools_folds_by_hand():
    # fold 0: 3 of 4 right; fold 1: 1 of 2 right and one empty decoding
    fold0 = [_prediction(1, 0, 0, 0), _prediction(2, 0, 1, 1), _prediction(3, 0, 2, 2), _prediction(4, 0, 2, 0)]
    fold1 = [_prediction(5, 1, 0, 0), _prediction(6, 1, 1, None)]
    metrics0 = {"overall_accuracy": 0.75, "mean_class_accuracy": 2.5 / 3, "n_empty": 0, "n_multi": 1}
    metrics1 = {"overall_accuracy": 0.5, "mean_class_accuracy": 0.5, "n_empty": 1, "n_multi": 0}
    metrics0["confusion"] = [[1, 0, 0], [0, 1, 0], [1, 0, 1]]
    metrics1["confusion"] = [[1, 0, 0], [0, 0, 0], [0, 0, 0]]
    results = [
        FoldResult("ctc", 0, 2, 4, 0.0, {"ctc": metrics0}, {"ctc": fold0}),
        FoldResult("ctc", 1, 4, 2, 0.0, {"ctc": metrics1}, {"ctc": fold1}),
    ]
    summary = aggregate(results)["ctc"]
    assert summary.overall_accuracy == pytest.approx(4 / 6)
    # pooled recalls: class 0 2/2, class 1 1/2, class 2 1/2
    assert summary.mean_class_accuracy == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert summary.overall_accuracy_fold_mean == pytest.approx(0.625)
    assert summary.overall_accuracy_fold_std == pytest.approx(np.std([0.75, 0.5], ddof=1))
    np.testing.assert_array_equal(summary.confusion, [[2, 0, 0], [0, 1, 0], [1, 0, 1]])
    assert (summary.n, summary.n_empty, summary.n_multi) == (6, 1, 1)


def test_presets_and_config_round_trip():
    paper, fast, best = preset("paper"), preset("fast"), preset("best")
    assert paper.training.epochs == 80 and paper.training.batch_size == 64 and paper.network.pad_frames == 78
    assert paper.ctc.beam_width == 100 and paper.ctc.discard_first_outputs == 2 and paper.ctc.min_frames == 6
    assert paper.framewise.n_estimators == 1000 and paper.framewise.class_weight == "balanced"
    assert not paper.network.standardize and paper.network.dropout == 0.0
    assert fast.training.epochs < paper.training.epochs and best.training.n_networks == 5
    for config in (paper, fast, best):
        assert ExperimentConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown preset"):
        preset("fastest")
    with pytest.raises(ValueError, match="unknown network config keys"):
        ExperimentConfig.from_dict({"network": {"units": 3}})


def test_unknown_method_is_refused(dataset):
    with pytest.raises(ValueError, match="unknown methods svm"):
        run_experiment(dataset, ["svm"], tiny_config(), n_folds=3)


def _predictions(result) -> dict:
    return {
        (r.method, r.fold, row): [(p.utterance_id, p.predicted_label, p.probabilities.tolist()) for p in predictions]
        for r in result.fold_results
        for row, predictions in r.predictions.items()
    }


def test_units_in_two_processes_give_the_serial_results(dataset):
    methods = ["dummy", "onelabel", "ctc"]
    serial = run_experiment(dataset, methods, tiny_config(), n_folds=3, seed=0)
    events = []
    parallel = run_experiment(dataset, methods, tiny_config(), n_folds=3, seed=0, progress=events.append, n_jobs=2)
    assert [(r.method, r.fold) for r in parallel.fold_results] == [(m, f) for m in methods for f in range(3)]
    assert _predictions(parallel) == _predictions(serial)  # each unit seeds its own models
    # every worker's progress reached the caller's callback
    epochs = {(e.detail["method"], e.detail["fold"], e.detail["epoch"]) for e in events if "epoch" in e.detail}
    assert epochs == {(m, f, n) for m in ("onelabel", "ctc") for f in range(3) for n in (1, 2, 3)}
    assert sum(1 for e in events if e.detail.get("finished")) == 9


def test_a_failing_unit_in_a_worker_stops_the_run_with_its_error(dataset):
    features = [x.copy() for x in dataset.features]
    features[0][1, 3] = np.nan
    broken = replace(dataset, features=features)
    with pytest.raises(ValueError, match="NaN"):
        run_experiment(broken, ["framewise", "utterance_stats"], tiny_config(), n_folds=3, seed=0, n_jobs=2)
    with pytest.raises(ValueError, match="n_jobs must be at least 1"):
        run_experiment(dataset, ["dummy"], tiny_config(), n_folds=3, n_jobs=0)
