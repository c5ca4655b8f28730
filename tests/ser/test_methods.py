"""Each method learns a learnable synthetic task, keeps scikit-learn's contract, and gives the
same predictions for the same seed."""

import numpy as np
import pytest
from sklearn.base import clone

from models_app.ser.methods import CTCBLSTM, DummyMajority, FramewiseForest, OneLabelBLSTM, UtteranceStatsForest
from models_app.ser.methods.forests import loudest_frames, utterance_statistics
from tests.factories import synthetic_sequences

TINY_NETWORK = dict(hidden_units=12, dense_units=24, n_threads=1, random_state=0)


@pytest.fixture(scope="module")
def task():
    """Three classes; the emotion sits in the middle half of each utterance."""
    X, y, _ = synthetic_sequences(n_per_class=30, shift=2.5, emotional_share=0.5, seed=0)
    X_test, y_test, _ = synthetic_sequences(n_per_class=15, shift=2.5, emotional_share=0.5, seed=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def whole_utterance_task():
    """Every frame carries the emotion: what the framewise forest's vote assumes."""
    X, y, _ = synthetic_sequences(n_per_class=30, emotional_share=1.0, seed=0)
    X_test, y_test, _ = synthetic_sequences(n_per_class=15, emotional_share=1.0, seed=1)
    return X, y, X_test, y_test


def _accuracy(estimator, task):
    X, y, X_test, y_test = task
    return np.mean(estimator.fit(X, y).predict(X_test) == y_test)


def test_dummy_predicts_the_training_majority():
    X, _, _ = synthetic_sequences(n_per_class=2, n_classes=2)
    y = np.array(["neutral", "anger", "neutral", "neutral"])
    dummy = DummyMajority().fit(X, y)
    assert list(dummy.predict(X[:2])) == ["neutral", "neutral"]
    np.testing.assert_allclose(dummy.predict_proba(X[:1]), [[0.25, 0.75]])  # columns: anger, neutral


@pytest.mark.parametrize(
    "estimator",
    [
        FramewiseForest(n_estimators=40, random_state=0),
        UtteranceStatsForest(n_estimators=40, random_state=0),
    ],
    ids=["framewise", "utterance_stats"],
)
def test_forests_learn_the_task(estimator, whole_utterance_task):
    assert _accuracy(estimator, whole_utterance_task) > 0.7  # chance is 1/3


def test_onelabel_blstm_learns_the_task(task):
    estimator = OneLabelBLSTM(**TINY_NETWORK, pad_frames=None, standardize=True, epochs=12, learning_rate=1e-2)
    assert _accuracy(estimator, task) > 0.8


def test_onelabel_blstm_learns_in_the_papers_padded_mode(task):
    estimator = OneLabelBLSTM(**TINY_NETWORK, pad_frames=24, epochs=15, learning_rate=1e-2)
    assert _accuracy(estimator, task) > 0.8


def test_ctc_loss_falls_and_every_decoder_beats_chance(task):
    X, y, X_test, y_test = task
    ctc = CTCBLSTM(**TINY_NETWORK, pad_frames=None, standardize=True, epochs=60, learning_rate=1e-2, beam_width=8)
    ctc.fit(X, y)
    losses = [record["loss"] for record in ctc.history_]
    assert losses[-1] < 0.1 * losses[0]
    frame_proba = ctc.predict_frame_proba(X_test)
    accuracy = {
        decoder: np.mean(ctc.labels_from_decodings(ctc.decode_frame_proba(frame_proba, decoder)) == y_test)
        for decoder in ("beam", "best_path", "exact")
    }
    # chance is 1/3; beam search and best path lose utterances to empty decodings first
    assert accuracy["exact"] > 0.85
    assert accuracy["beam"] > 0.7
    assert accuracy["best_path"] > 0.5


def test_ctc_outputs_have_the_promised_shapes(task):
    X, y, X_test, _ = task
    ctc = CTCBLSTM(**TINY_NETWORK, pad_frames=24, epochs=2, beam_width=4).fit(X, y)
    assert ctc.blank_ == 3
    frame_proba = ctc.predict_frame_proba(X_test[:5] + [np.tile(X_test[0], (3, 1))])  # one longer than pad_frames
    for probabilities, x in zip(frame_proba, X_test[:5] + [np.tile(X_test[0], (3, 1))], strict=True):
        assert probabilities.shape == (len(x), 4)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    proba = ctc.predict_proba(X_test[:5])
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    for spans, x in zip(ctc.decode_sequences(X_test[:5]), X_test[:5], strict=True):
        for emotion, start, end in spans:
            assert 0 <= emotion < 3
            assert ctc.discard_first_outputs <= start < end <= len(x)


def test_ctc_empty_decoding_is_a_distinct_prediction():
    ctc = CTCBLSTM()
    ctc.classes_ = np.array([0, 1, 2])
    empty_and_one = [
        type("D", (), {"labeling": ()})(),
        type("D", (), {"labeling": (2, 0)})(),  # first emotion is the prediction
    ]
    np.testing.assert_array_equal(ctc.labels_from_decodings(empty_and_one), [-1, 2])
    ctc.classes_ = np.array(["anger", "neutral", "sadness"])
    assert list(ctc.labels_from_decodings(empty_and_one)) == [None, "sadness"]


def test_ctc_skips_utterances_too_short_to_learn_from(task):
    X, y, _, _ = task
    short = [x[:4] for x in X[:6]]
    ctc = CTCBLSTM(**TINY_NETWORK, epochs=1, pad_frames=None).fit(short + X, np.concatenate([y[:6], y]))
    assert ctc.n_training_utterances_ == len(X)  # the authors removed utterances of <= 5 frames


def test_same_seed_same_predictions_and_another_seed_differs(task):
    X, y, X_test, _ = task
    params = dict(hidden_units=8, dense_units=8, n_threads=1, pad_frames=None, epochs=3, dropout=0.2)
    first = CTCBLSTM(**params, random_state=7).fit(X, y).predict_frame_proba(X_test[:10])
    again = CTCBLSTM(**params, random_state=7).fit(X, y).predict_frame_proba(X_test[:10])
    other = CTCBLSTM(**params, random_state=8).fit(X, y).predict_frame_proba(X_test[:10])
    assert len(first) == 10
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, c) for a, c in zip(first, other, strict=True))
    forest = FramewiseForest(n_estimators=10, random_state=3)
    np.testing.assert_array_equal(
        clone(forest).fit(X, y).predict_proba(X_test), clone(forest).fit(X, y).predict_proba(X_test)
    )


def test_validation_split_holds_out_whole_speakers_and_keeps_the_best_epoch(task):
    X, y, _, _ = task
    speakers = np.array([f"s{i % 5}" for i in range(len(X))])
    estimator = OneLabelBLSTM(
        **TINY_NETWORK, pad_frames=None, epochs=6, validation_fraction=0.2, patience=2, learning_rate=1e-2
    ).fit(X, y, groups=speakers)
    val_losses = [record["val_loss"] for record in estimator.history_]
    assert estimator.best_epochs_ == [1 + int(np.argmin(val_losses))]
    assert len(estimator.history_) <= 6


def test_an_ensemble_averages_networks_trained_from_consecutive_seeds(task):
    X, y, X_test, _ = task
    params = dict(hidden_units=6, dense_units=6, n_threads=1, pad_frames=None, epochs=2)
    events = []
    ensemble = CTCBLSTM(**params, n_networks=2, random_state=4).fit(X, y, progress=events.append)
    members = [CTCBLSTM(**params, random_state=seed).fit(X, y) for seed in (4, 5)]
    expected = [
        np.mean(pair, axis=0) for pair in zip(*(m.predict_frame_proba(X_test[:5]) for m in members), strict=True)
    ]
    for got, want in zip(ensemble.predict_frame_proba(X_test[:5]), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert [(e.done, e.total) for e in events] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert [r["network"] for r in ensemble.history_] == [0, 0, 1, 1]


def test_packed_mode_ignores_padding_from_longer_batch_mates(task):
    X, y, X_test, _ = task
    net = OneLabelBLSTM(**TINY_NETWORK, pad_frames=None, epochs=1).fit(X, y)
    alone = net.predict_proba([X_test[0]])
    with_long = net.predict_proba([X_test[0], np.tile(X_test[1], (4, 1))])[:1]
    np.testing.assert_allclose(alone, with_long, rtol=1e-5, atol=1e-6)


def test_scaler_is_fitted_on_the_training_sequences_only(task):
    X, y, _, _ = task
    net = OneLabelBLSTM(**TINY_NETWORK, standardize=True, epochs=1, pad_frames=None).fit(X, y)
    np.testing.assert_allclose(net.scaler_.mean, np.concatenate(X).mean(axis=0), rtol=1e-4, atol=1e-5)


def test_scikit_learn_contract(task):
    X, y, X_test, _ = task
    names = np.array(["anger", "neutral", "sadness"])[y]
    for estimator in (
        DummyMajority(),
        FramewiseForest(n_estimators=5, random_state=0),
        UtteranceStatsForest(n_estimators=5, random_state=0),
        OneLabelBLSTM(hidden_units=4, dense_units=4, epochs=1, random_state=0),
        CTCBLSTM(hidden_units=4, dense_units=4, epochs=1, random_state=0, beam_width=2),
    ):
        params = estimator.get_params()
        copy = clone(estimator)
        assert copy.get_params() == params  # __init__ stores parameters untouched
        assert copy.fit(X, names) is copy
        assert list(copy.classes_) == ["anger", "neutral", "sadness"]
        proba = copy.predict_proba(X_test[:4])
        assert proba.shape == (4, 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert set(copy.predict(X_test[:4])) <= {"anger", "neutral", "sadness", None}


@pytest.mark.parametrize(
    "bad, message",
    [
        ([np.zeros((0, 34), np.float32)], "has no frames"),
        ([np.zeros((3, 34), np.float32), np.zeros((3, 33), np.float32)], "33 features"),
        ([np.full((3, 34), np.nan, np.float32)], "NaN"),
        ([np.zeros(34, np.float32)], "expected"),
        ([], "no utterances"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(bad, message):
    y = np.arange(len(bad)) % 2
    with pytest.raises(ValueError, match=message):
        UtteranceStatsForest(n_estimators=2).fit(bad, y)


def test_predicting_before_fit_or_with_other_features_is_refused(task):
    X, y, _, _ = task
    with pytest.raises(ValueError, match="not fitted"):
        OneLabelBLSTM().predict(X[:2])
    forest = FramewiseForest(n_estimators=3, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="expected 34"):
        forest.predict([np.zeros((5, 20), np.float32)])
    with pytest.raises(ValueError, match="single class"):
        DummyMajority().fit(X[:3], [1, 1, 1])


def test_loudest_frames_by_energy_in_time_order():
    sequence = np.zeros((5, 3), np.float32)
    sequence[:, 1] = [0.1, 0.9, 0.2, 0.8, 0.05]
    sequence[:, 0] = np.arange(5)  # frame number, to see which frames were kept
    np.testing.assert_array_equal(loudest_frames(sequence, 2)[:, 0], [1, 3])
    assert len(loudest_frames(sequence[:1], 2)) == 1


def test_framewise_vote_tie_goes_to_the_higher_mean_probability():
    # two frames vote class 0, two vote class 1; class 1's frames are more confident
    frames = np.array([[0.55, 0.45], [0.55, 0.45], [0.1, 0.9], [0.1, 0.9]])
    shares, winners = FramewiseForest.votes_from_frame_proba([frames])
    np.testing.assert_allclose(shares, [[0.5, 0.5]])
    assert winners[0] == 1


def test_utterance_statistics_by_hand():
    sequence = np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)
    stats = utterance_statistics(sequence, percentiles=(50.0,))
    np.testing.assert_allclose(stats, [2.0, 20.0, 1.0, 10.0, 2.0, 20.0])  # mean, std, median
