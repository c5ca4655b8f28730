"""The paper's 34 short-term acoustic features (pyAudioAnalysis's set), vectorised.

``extract(signal, sample_rate, config) -> FrameFeatures`` is the entry point; ``FeatureConfig`` and
``FEATURE_PRESETS`` say how; ``FEATURE_NAMES`` names the columns.
"""

from models_app.ser.features.config import (
    ENERGY_COLUMN,
    EXTRACTOR_VERSION,
    FEATURE_NAMES,
    FEATURE_PRESETS,
    N_FEATURES,
    FeatureConfig,
    feature_config_for_preset,
)
from models_app.ser.features.extractor import FrameFeatures, extract, frame_count, select_frames, short_term_features

__all__ = [
    "ENERGY_COLUMN",
    "EXTRACTOR_VERSION",
    "FEATURE_NAMES",
    "FEATURE_PRESETS",
    "N_FEATURES",
    "FeatureConfig",
    "FrameFeatures",
    "extract",
    "feature_config_for_preset",
    "frame_count",
    "select_frames",
    "short_term_features",
]
