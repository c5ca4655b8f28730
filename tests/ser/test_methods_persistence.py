"""A fitted estimator survives a checkpoint: same predictions, with its config, classes and
feature preset; torch checkpoints hold no pickled code."""

import numpy as np
import pytest
import torch

from models_app.ser.config import preset
from models_app.ser.methods import CTCBLSTM, DummyMajority, FramewiseForest, OneLabelBLSTM, UtteranceStatsForest
from models_app.ser.persistence import CheckpointError, load_estimator, save_estimator
from tests.factories import synthetic_sequences


@pytest.fixture(scope="module")
def data():
    X, y, _ = synthetic_sequences(n_per_class=8, seed=0)
    names = np.array(["anger", "neutral", "sadness"])[y]
    return X, names


@pytest.mark.parametrize(
    "estimator",
    [
        DummyMajority(),
        FramewiseForest(n_estimators=5, random_state=0),
        UtteranceStatsForest(n_estimators=5, random_state=0),
        OneLabelBLSTM(hidden_units=4, dense_units=6, epochs=2, standardize=True, pad_frames=None, random_state=0),
        CTCBLSTM(hidden_units=4, dense_units=6, epochs=2, random_state=0, beam_width=3),
    ],
    ids=lambda e: type(e).__name__,
)
def test_round_trip_gives_identical_predictions(estimator, data, tmp_path):
    X, y = data
    estimator.fit(X, y)
    config = preset("fast")
    path = save_estimator(estimator, tmp_path / "model.ckpt", config=config)
    loaded, metadata = load_estimator(path)
    assert type(loaded) is type(estimator)
    assert loaded.get_params() == estimator.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), estimator.predict_proba(X))
    assert list(loaded.predict(X)) == list(estimator.predict(X))
    assert metadata["config"] == config
    assert metadata["feature_preset"] == "paper"
    assert metadata["classes"] == ["anger", "neutral", "sadness"]


def test_network_checkpoints_load_without_unpickling_code(data, tmp_path):
    X, y = data
    net = OneLabelBLSTM(hidden_units=4, dense_units=4, epochs=1, random_state=0).fit(X, y)
    path = save_estimator(net, tmp_path / "net.ckpt", feature_preset="paper")
    stored = torch.load(path, weights_only=True)  # would raise on any pickled object
    assert stored["method"] == "onelabel"
    assert set(stored["state"]["networks"][0]) >= {"encoder.lstm.weight_ih_l0", "head.1.weight"}


def test_unfitted_damaged_and_foreign_files_are_refused(data, tmp_path):
    with pytest.raises(CheckpointError, match="not fitted"):
        save_estimator(OneLabelBLSTM(), tmp_path / "x.ckpt")
    damaged = tmp_path / "damaged.ckpt"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(CheckpointError):
        load_estimator(damaged)
    foreign = tmp_path / "foreign.ckpt"
    foreign.write_bytes(b"hello")
    with pytest.raises(CheckpointError):
        load_estimator(foreign)
