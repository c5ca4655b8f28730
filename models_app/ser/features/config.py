"""What a feature set is computed with: one frozen configuration, recorded whole with every set.

The defaults are the ``paper`` preset (the authors' code; see docs/features.md). Two sets whose
configurations hash alike hold the same numbers, so the hash names the cache.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

# pyAudioAnalysis 0.3.14's short-term feature names, in its order (feature_extraction, deltas=False).
FEATURE_NAMES: tuple[str, ...] = (
    "zcr",
    "energy",
    "energy_entropy",
    "spectral_centroid",
    "spectral_spread",
    "spectral_entropy",
    "spectral_flux",
    "spectral_rolloff",
    *(f"mfcc_{i}" for i in range(1, 14)),
    *(f"chroma_{i}" for i in range(1, 13)),
    "chroma_std",
)
N_FEATURES = len(FEATURE_NAMES)  # 34
ENERGY_COLUMN = FEATURE_NAMES.index("energy")  # the authors' frame selection and the framewise method read it

# Bump when the extractor's numbers change for the same configuration, so old caches are not reused.
EXTRACTOR_VERSION = "pyaudioanalysis-0.3.14/1"

# The acoustic feature sets a run can use, with what each is (the job form and the command show these).
# The openSMILE sets are brought to the paper's frames in features/opensmile_sets.py.
FEATURE_SET_DESCRIPTIONS = {
    "pyaudioanalysis34": "the paper's 34 pyAudioAnalysis features",
    "egemaps": "eGeMAPSv02 descriptors (openSMILE), mean and std per 200 ms frame",
    "compare": "ComParE 2016 descriptors (openSMILE), mean and std per 200 ms frame",
}
FEATURE_SET_NAMES = tuple(FEATURE_SET_DESCRIPTIONS)
# The paper's set: what every run used before the choice existed, so it stays the default.
DEFAULT_FEATURE_SET = "pyaudioanalysis34"


@dataclass(frozen=True)
class FeatureConfig:
    """Everything that decides the numbers of a feature set. Times in seconds, rates in Hz."""

    sample_rate: int = 16000  # IEMOCAP's rate, which the authors used; every input is resampled to it
    window_s: float = 0.2  # the paper (sec. 2.2): 200 ms frames, 3200 samples at 16 kHz
    step_s: float = 0.1  # the paper: 100 ms step, 1600 samples (frames overlap by half)
    normalise: bool = True  # the authors: int16 / 2**15, minus the mean, divided by the peak, per utterance
    drop_edge_frames: bool = True  # the authors' code dropped the first and last frame when there were more than 2
    min_energy: float | None = 1e-4  # the authors' code dropped every frame with energy <= 1e-4; None keeps all
    rolloff_fraction: float = 0.90  # pyAudioAnalysis's spectral roll-off point, as the authors ran it
    n_entropy_blocks: int = 10  # pyAudioAnalysis's sub-blocks for the energy and spectral entropies
    extractor: str = EXTRACTOR_VERSION  # which implementation made the numbers (part of the hash)
    # Which acoustic descriptors fill the frames; the frame grid and selection above hold for all.
    feature_set: str = DEFAULT_FEATURE_SET

    def __post_init__(self) -> None:
        if self.feature_set not in FEATURE_SET_NAMES:
            raise ValueError(f"unknown feature set {self.feature_set!r}; choose one of {', '.join(FEATURE_SET_NAMES)}")
        if int(self.sample_rate) != self.sample_rate or self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive integer, got {self.sample_rate!r}")
        for name in ("window_s", "step_s"):
            seconds = getattr(self, name)
            samples = seconds * self.sample_rate
            if seconds <= 0 or abs(samples - round(samples)) > 1e-6:
                raise ValueError(
                    f"{name}={seconds!r} s is not a positive whole number of samples at {self.sample_rate} Hz"
                )
        if self.window_samples < 2 * self.n_entropy_blocks:
            raise ValueError(
                f"window of {self.window_samples} samples is too short for {self.n_entropy_blocks} entropy blocks"
            )
        if not 0 < self.rolloff_fraction <= 1:
            raise ValueError(f"rolloff_fraction must lie in (0, 1], got {self.rolloff_fraction!r}")
        if self.min_energy is not None and self.min_energy < 0:
            raise ValueError(f"min_energy must be >= 0 or None, got {self.min_energy!r}")

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sample_rate))

    @property
    def step_samples(self) -> int:
        return int(round(self.step_s * self.sample_rate))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def config_hash(self) -> str:
        """sha256 (hex) of the canonical JSON: sorted keys, no spaces. Stable across runs and machines.

        The default feature set is left out of the JSON: the paper's sets were hashed before the
        choice existed, and leaving it out keeps their caches (and the checkpoints naming them)."""
        data = self.to_dict()
        if data["feature_set"] == DEFAULT_FEATURE_SET:
            del data["feature_set"]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown feature settings: {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> FeatureConfig:
        return replace(self, **changes)


FEATURE_PRESETS: dict[str, FeatureConfig] = {
    # The authors' frame selection: what the paper's three methods were trained on.
    "paper": FeatureConfig(),
    # Every frame kept, so frame i starts at i * step_s: the emotion timeline needs this alignment.
    "full": FeatureConfig(drop_edge_frames=False, min_energy=None),
}


def feature_config_for_preset(preset: str, feature_set: str = DEFAULT_FEATURE_SET) -> FeatureConfig:
    """The preset's frame grid and selection, filled with ``feature_set``'s descriptors."""
    try:
        config = FEATURE_PRESETS[preset]
    except KeyError:
        raise ValueError(f"unknown feature preset {preset!r}; choose one of {', '.join(FEATURE_PRESETS)}") from None
    return config if feature_set == config.feature_set else config.replace(feature_set=feature_set)
