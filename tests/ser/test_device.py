"""The networks' device: auto, cpu, cuda, cuda:N; training and inference on it.

The CUDA path needs a CUDA GPU; on a machine without one those tests skip and say so. The CPU
path is what every other network test runs (device "auto" resolves to the CPU there), and the
existing determinism tests hold it bit for bit.
"""

import numpy as np
import pytest
import torch

from models_app.ser.config import ExperimentConfig, check_device
from models_app.ser.methods.ctc import CTCBLSTM
from models_app.ser.methods.onelabel import OneLabelBLSTM
from models_app.ser.persistence import load_estimator, save_estimator
from models_app.ser.registry import build_estimator
from models_app.ser.torch_utils import DeviceUnavailable, resolve_device

NO_CUDA = "no CUDA GPU on this machine: the CUDA device path cannot run here"


def data(n: int = 30):
    rng = np.random.default_rng(0)
    X = [rng.normal(size=(int(rng.integers(8, 16)), 5)).astype(np.float32) + (i % 2) for i in range(n)]
    return X, np.array([i % 2 for i in range(n)])


def test_device_names_are_checked_without_torch():
    for name in ("auto", "cpu", "cuda", "cuda:0", "cuda:12"):
        assert check_device(name) == name
    for name in ("gpu", "cuda:", "cuda:x", "CPU", "mps", ""):
        with pytest.raises(ValueError, match="choose auto, cpu, cuda or cuda:N"):
            check_device(name)
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        ExperimentConfig(device="tpu")


def test_the_config_device_reaches_the_networks_only():
    config = ExperimentConfig(device="cuda:1")
    assert build_estimator("ctc", config).device == "cuda:1"
    assert build_estimator("onelabel", config).device == "cuda:1"
    assert "device" not in build_estimator("framewise", config).get_params()


def test_auto_is_the_gpu_when_there_is_one_and_the_cpu_otherwise():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU: a missing one cannot be shown")
def test_a_missing_gpu_is_an_error_not_a_silent_cpu_run():
    with pytest.raises(DeviceUnavailable, match="torch sees no CUDA GPU"):
        resolve_device("cuda")
    X, y = data()
    with pytest.raises(DeviceUnavailable, match="'cuda:0' asked for"):
        OneLabelBLSTM(hidden_units=4, dense_units=8, epochs=1, device="cuda:0", random_state=0).fit(X, y)


@pytest.mark.parametrize("estimator_class", [OneLabelBLSTM, CTCBLSTM])
def test_the_device_path_on_whatever_device_is_here(estimator_class, tmp_path):
    """Trains and predicts on resolve_device("auto") (a GPU if there is one), then the checkpoint
    loads and predicts the same on the CPU."""
    X, y = data()
    estimator = estimator_class(
        hidden_units=8, dense_units=16, epochs=3, batch_size=8, pad_frames=None, device="auto", random_state=0
    ).fit(X, y)
    device = resolve_device("auto")
    assert {p.device.type for network in estimator.networks_ for p in network.parameters()} == {device.type}
    proba = estimator.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    path = save_estimator(estimator, tmp_path / "model.ckpt")
    loaded, _ = load_estimator(path)
    loaded.set_params(device="cpu")
    np.testing.assert_allclose(loaded.predict_proba(X), proba, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_training_on_the_gpu_scores_like_the_cpu():
    X, y = data(60)
    common = {"hidden_units": 8, "dense_units": 16, "epochs": 20, "batch_size": 8, "pad_frames": None}
    on_cpu = OneLabelBLSTM(**common, device="cpu", random_state=0).fit(X, y)
    on_gpu = OneLabelBLSTM(**common, device="cuda", random_state=0).fit(X, y)
    # Same initial weights (built on the CPU), same batches: the same classifier up to float error.
    assert np.mean(on_cpu.predict(X) == on_gpu.predict(X)) >= 0.95
