"""One checkpoint file per fitted estimator: everything inference needs.

A checkpoint holds the method's name, its parameters (``get_params``), the learned state (label
map ``classes_``, scaler, network weights as a state dict, or the fitted forest), the experiment
config and the name of the feature configuration the estimator was trained on.

Networks are written with ``torch.save`` of plain tensors and lists and read back with
``weights_only=True``: loading a checkpoint cannot run code. Forests (and the dummy) are written
with joblib, which unpickles: load those only from files this application wrote.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import torch

from models_app.ser.checkpoint_format import FORMAT_VERSION
from models_app.ser.config import ExperimentConfig
from models_app.ser.methods.neural import BLSTMEstimator
from models_app.ser.registry import METHODS

_ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; joblib writes a pickle


class CheckpointError(ValueError):
    """The file is not a checkpoint this version can read."""


def method_of(estimator) -> str:
    for method in METHODS.values():
        if type(estimator) is method.estimator_class():
            return method.name
    raise CheckpointError(f"cannot save a {type(estimator).__name__}")


def save_estimator(
    estimator,
    path: Path | str,
    *,
    config: ExperimentConfig | None = None,
    feature_preset: str | None = None,
) -> Path:
    """Write a fitted estimator to ``path`` (written to a temporary name, then renamed)."""
    method = method_of(estimator)
    if not hasattr(estimator, "classes_"):
        raise CheckpointError("the estimator is not fitted")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "format_version": FORMAT_VERSION,
        "method": method,
        "params": estimator.get_params(),
        "config": None if config is None else config.to_dict(),
        "feature_preset": feature_preset if feature_preset is not None else (config.feature_preset if config else None),
    }
    temporary = path.with_name(path.name + ".partial")
    if isinstance(estimator, BLSTMEstimator):
        torch.save({**header, "state": estimator._learned_state()}, temporary)
    else:
        joblib.dump({**header, "estimator": estimator}, temporary)
    temporary.replace(path)
    return path


def load_estimator(path: Path | str, *, trusted: bool = True):
    """(estimator, metadata) from a checkpoint; metadata has ``method``, ``config``
    (an ExperimentConfig or None) and ``feature_preset``.

    ``trusted=False`` (a file from elsewhere, such as a downloaded model): only network
    checkpoints are read; a pickle is refused without being opened, since unpickling runs code."""
    path = Path(path)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != _ZIP_MAGIC and not trusted:
        raise CheckpointError(
            f"{path}: not a network checkpoint; pickled models (forests, dummy) are read only from files "
            "this installation wrote"
        )
    if magic == _ZIP_MAGIC:
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a damaged or foreign file: say which
            raise CheckpointError(f"{path}: not a readable network checkpoint ({exc})") from exc
        estimator = METHODS[data["method"]].estimator_class()(**data["params"])
        estimator._restore_learned_state(data["state"])
    else:
        try:
            data = joblib.load(path)
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable checkpoint ({exc})") from exc
        if not isinstance(data, dict) or "estimator" not in data:
            raise CheckpointError(f"{path}: not an emolab checkpoint")
        estimator = data["estimator"]
    if data.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format {data.get('format_version')}, expected {FORMAT_VERSION}")
    if data["method"] not in METHODS or type(estimator) is not METHODS[data["method"]].estimator_class():
        raise CheckpointError(f"{path}: method {data['method']!r} does not match the stored estimator")
    metadata = {
        "method": data["method"],
        "config": None if data["config"] is None else ExperimentConfig.from_dict(data["config"]),
        "feature_preset": data["feature_preset"],
        "classes": np.asarray(estimator.classes_).tolist(),
    }
    return estimator, metadata
