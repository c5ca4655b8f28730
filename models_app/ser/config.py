"""Every number of an experiment in one frozen config, with the reason for each default.

Three presets:

- ``paper``: what the paper (sections 3-4.4) and its authors' code did. Where the two disagree the
  preset follows the paper and ``docs/methods.md`` says so (the optimizer: the paper says Adam,
  the code ran Adadelta).
- ``fast``: the same recipe shrunk to minutes on a small corpus (tests, the demo).
- ``best``: our improved recipe; each change away from ``paper`` is kept only because it measurably
  helped on EmoDB (the measured effects are in ``docs/methods.md``).

The defaults of the dataclasses below *are* the ``paper`` preset; ``fast`` and ``best`` replace
fields. Nothing here imports torch or Django, so the web side can show and store configs cheaply.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_SET_NAMES

# Each preset with what it is for (the job form shows these).
PRESET_DESCRIPTIONS = {
    "paper": "the paper's settings (80 epochs, 1000 trees)",
    # Measured (issue 16): 18 min for the demo corpus with one worker on a busy 2-core machine,
    # 194 s of it the final models; not "minutes" as this said before.
    "fast": "a shortened recipe for trying things: about 20 min on the demo corpus with one worker on 2 cores",
    "best": "our improved recipe",
}
PRESET_NAMES = tuple(PRESET_DESCRIPTIONS)

# Where the networks train and predict: "auto" takes the first CUDA GPU when torch sees one, else
# the CPU; "cuda" is the current CUDA device, "cuda:N" GPU number N. The forests always use the CPU.
DEVICE_CHOICES = ("auto", "cpu", "cuda", "cuda:N")
DEFAULT_DEVICE = "auto"
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|cuda(:\d{1,2})?)$")


def check_device(device: str) -> str:
    """``device`` if it is one of auto, cpu, cuda, cuda:N; ValueError otherwise (no torch needed)."""
    if not isinstance(device, str) or not _DEVICE_PATTERN.match(device):
        raise ValueError(f"unknown device {device!r}; choose auto, cpu, cuda or cuda:N (N the GPU number)")
    return device


# What a run uses when nobody chose: minutes, not the paper's hours, so a first try finishes.
DEFAULT_PRESET = "fast"


@dataclass(frozen=True)
class NetworkConfig:
    """The BLSTM shared by the one-label and CTC networks (the paper's Appendix A)."""

    hidden_units: int = 64  # per direction: the paper's 2 x 64 BLSTM
    n_layers: int = 2  # the paper stacks two bidirectional layers
    dense_units: int = 512  # the paper's Dense(512, tanh) before the softmax
    dropout: float = 0.0  # the authors used none
    keras_init: bool = True  # Keras 1 initialisation (glorot / orthogonal / forget bias 1) as the authors had
    # Sequences cut or zero-padded at the end to this many frames (~90th percentile of IEMOCAP's
    # lengths, the paper's 78); None = no padding seen by the LSTMs (packed true-length sequences).
    pad_frames: int | None = 78
    standardize: bool = False  # the authors fed raw pyAudioAnalysis features


@dataclass(frozen=True)
class TrainingConfig:
    """How both networks are trained."""

    optimizer: str = "adam"  # the paper's text (sec. 4.2.2) says Adam; the code used Adadelta (docs/methods.md)
    learning_rate: float = 1e-3  # Keras's Adam default: the paper names no rate
    adadelta_rho: float = 0.95  # Keras 1 Adadelta default, used when optimizer == "adadelta"
    epsilon: float = 1e-8  # Keras 1 default for both optimizers
    weight_decay: float = 0.0  # the authors used none
    epochs: int = 80  # the authors' code: 80 epochs
    batch_size: int = 64  # the authors' code: batch 64
    gradient_clip: float | None = None  # the authors did not clip
    # Share of the training *groups* (sessions or speakers) held out to pick the epoch with the
    # lowest validation loss; 0 = train for exactly ``epochs`` (the paper: no early stopping).
    validation_fraction: float = 0.0
    patience: int | None = None  # epochs without validation improvement before stopping; None = never stop early
    n_networks: int = 1  # networks trained from consecutive seeds and averaged; the authors trained one
    onelabel_class_weight: str | None = None  # the authors' one-label network had no class weights
    ctc_class_weight: str | None = "inverse_frequency"  # the authors' CTC weighted each sample by total/count


@dataclass(frozen=True)
class CTCConfig:
    """CTC details from the authors' code (reference-implementation notes)."""

    discard_first_outputs: int = 2  # the authors dropped the first 2 outputs: input length = frames - 2
    min_frames: int = 6  # the authors removed utterances with 5 frames or fewer from CTC training
    beam_width: int = 100  # the authors decoded with beam search, width 100, top path


@dataclass(frozen=True)
class FramewiseConfig:
    """The framewise random forest (paper sec. 4.2.1)."""

    frames_per_utterance: int = 2  # the paper: the 2 loudest frames of each training utterance
    n_estimators: int = 1000  # the authors' code: 1000 trees
    class_weight: str | None = "balanced"  # the authors' code: balanced class weights
    min_samples_leaf: int = 1  # scikit-learn's default, as the authors left it


@dataclass(frozen=True)
class UtteranceStatsConfig:
    """The per-utterance statistics forest: the first baseline a researcher compares against."""

    percentiles: tuple[float, ...] = (10.0, 50.0, 90.0)  # spread and median besides mean and std
    n_estimators: int = 500  # enough trees that accuracy no longer moves on EmoDB
    class_weight: str | None = "balanced"  # so that mean class accuracy is not traded for the majority class


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = "paper"  # the preset this config came from (kept in results and checkpoints)
    feature_preset: str = "paper"  # the authors' frame selection (features engineer's preset name)
    # The descriptors in each frame: the paper's 34 by default (docs/features.md for the others).
    features: str = DEFAULT_FEATURE_SET
    seed: int = 0  # network initialisation, batch order, forests: same seed, same predictions
    n_threads: int = 1  # torch threads per process; Celery runs one (method, fold) task per core
    # The GPU when there is one (minutes instead of an hour at IEMOCAP size); the CPU's results are
    # unchanged by this setting (docs/methods.md, "GPU").
    device: str = DEFAULT_DEVICE
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    ctc: CTCConfig = field(default_factory=CTCConfig)
    framewise: FramewiseConfig = field(default_factory=FramewiseConfig)
    utterance_stats: UtteranceStatsConfig = field(default_factory=UtteranceStatsConfig)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SET_NAMES:
            raise ValueError(f"unknown feature set {self.features!r}; choose one of {', '.join(FEATURE_SET_NAMES)}")
        check_device(self.device)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExperimentConfig:
        """Rebuild a config saved with ``to_dict`` (results, checkpoints). Unknown keys are an error."""
        sections = {
            "network": NetworkConfig,
            "training": TrainingConfig,
            "ctc": CTCConfig,
            "framewise": FramewiseConfig,
            "utterance_stats": UtteranceStatsConfig,
        }
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for key, value in data.items():
            if key in sections:
                section = sections[key]
                section_unknown = set(value) - {f.name for f in fields(section)}
                if section_unknown:
                    raise ValueError(f"unknown {key} config keys: {', '.join(sorted(section_unknown))}")
                if key == "utterance_stats" and "percentiles" in value:
                    value = {**value, "percentiles": tuple(value["percentiles"])}
                values[key] = section(**value)
            else:
                values[key] = value
        return cls(**values)


def preset(name: str) -> ExperimentConfig:
    """The named preset: ``paper``, ``fast`` or ``best``."""
    if name == "paper":
        return ExperimentConfig()
    if name == "fast":
        return _fast()
    if name == "best":
        return _best()
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")


def _fast() -> ExperimentConfig:
    paper = ExperimentConfig()
    return replace(
        paper,
        name="fast",
        # The paper's layer sizes: with a smaller head (128 units) CTC still decoded a quarter of
        # EmoDB as empty after 15-30 epochs; 512 units decode none (docs/methods.md).
        network=replace(paper.network, pad_frames=None),  # no compute on padding
        training=replace(
            paper.training,
            epochs=30,  # about a minute for both networks on EmoDB (5 folds, 1 thread)
            learning_rate=3e-3,  # few epochs need larger steps
        ),
        ctc=replace(paper.ctc, beam_width=10),  # one emotion per utterance: a narrow beam finds the same top labeling
        framewise=replace(paper.framewise, n_estimators=100),
        utterance_stats=replace(paper.utterance_stats, n_estimators=100),
    )


def _best() -> ExperimentConfig:
    # Each change from ``paper`` measurably helped on EmoDB (3 seeds, docs/methods.md); tried and
    # dropped because they did not: standardisation (CTC decodings went empty), dropout 0.3,
    # early stopping on held-out training speakers, one-label class weights, 128 units.
    paper = ExperimentConfig()
    return replace(
        paper,
        name="best",
        network=replace(paper.network, pad_frames=None),  # packed: +0.02 / +0.01 mean class acc., 3x faster
        training=replace(paper.training, n_networks=5),  # 5-seed ensemble: +0.04 one-label, +0.02 CTC
    )
