"""The columns of each feature set, known without loading openSMILE (the web process reads them).

The openSMILE sets hold, per 200 ms frame, the mean of every low-level descriptor (LLD) over the
10 ms LLD frames inside it, then the standard deviation of every LLD (features/opensmile_sets.py).
The names are openSMILE 3's (opensmile 2.6.0 on PyPI); a test compares them with the library's.
"""

from __future__ import annotations

from models_app.ser.features.config import FEATURE_NAMES

# eGeMAPSv02 low-level descriptors (Eyben et al., 2016), openSMILE's order.
EGEMAPS_LLD_NAMES: tuple[str, ...] = (
    "Loudness_sma3",
    "alphaRatio_sma3",
    "hammarbergIndex_sma3",
    "slope0-500_sma3",
    "slope500-1500_sma3",
    "spectralFlux_sma3",
    *(f"mfcc{i}_sma3" for i in range(1, 5)),
    "F0semitoneFrom27.5Hz_sma3nz",
    "jitterLocal_sma3nz",
    "shimmerLocaldB_sma3nz",
    "HNRdBACF_sma3nz",
    "logRelF0-H1-H2_sma3nz",
    "logRelF0-H1-A3_sma3nz",
    *(f"F{k}{what}_sma3nz" for k in (1, 2, 3) for what in ("frequency", "bandwidth", "amplitudeLogRelF0")),
)

# ComParE 2016 low-level descriptors (Schuller et al., 2016), openSMILE's order (no deltas).
COMPARE_LLD_NAMES: tuple[str, ...] = (
    "F0final_sma",
    "voicingFinalUnclipped_sma",
    "jitterLocal_sma",
    "jitterDDP_sma",
    "shimmerLocal_sma",
    "logHNR_sma",
    "audspec_lengthL1norm_sma",
    "audspecRasta_lengthL1norm_sma",
    "pcm_RMSenergy_sma",
    "pcm_zcr_sma",
    *(f"audSpec_Rfilt_sma[{i}]" for i in range(26)),
    "pcm_fftMag_fband250-650_sma",
    "pcm_fftMag_fband1000-4000_sma",
    *(f"pcm_fftMag_spectralRollOff{p}_sma" for p in ("25.0", "50.0", "75.0", "90.0")),
    *(
        f"pcm_fftMag_{name}_sma"
        for name in (
            "spectralFlux",
            "spectralCentroid",
            "spectralEntropy",
            "spectralVariance",
            "spectralSkewness",
            "spectralKurtosis",
            "spectralSlope",
            "psySharpness",
            "spectralHarmonicity",
        )
    ),
    *(f"mfcc_sma[{i}]" for i in range(1, 15)),
)

LLD_NAMES: dict[str, tuple[str, ...]] = {"egemaps": EGEMAPS_LLD_NAMES, "compare": COMPARE_LLD_NAMES}

# The LLD that stands for the frame's loudness (the framewise forest keeps each training
# utterance's loudest frames; the paper's set uses pyAudioAnalysis's energy).
_LOUDNESS_LLD = {"egemaps": "Loudness_sma3", "compare": "pcm_RMSenergy_sma"}

# eGeMAPSv02 functionals: 88 numbers per utterance, the field's classic utterance-level baseline.
N_EGEMAPS_FUNCTIONALS = 88


def pooled_names(lld_names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{name}_mean" for name in lld_names) + tuple(f"{name}_std" for name in lld_names)


def feature_names(feature_set: str) -> tuple[str, ...]:
    """The frame matrix columns of ``feature_set``, in order."""
    if feature_set == "pyaudioanalysis34":
        return FEATURE_NAMES
    try:
        return pooled_names(LLD_NAMES[feature_set])
    except KeyError:
        raise ValueError(f"unknown feature set {feature_set!r}") from None


def loudness_column(feature_set: str) -> int:
    """The column the framewise forest ranks frames by: the paper's energy, or the set's loudness mean."""
    if feature_set == "pyaudioanalysis34":
        return FEATURE_NAMES.index("energy")
    return feature_names(feature_set).index(_LOUDNESS_LLD[feature_set] + "_mean")


def has_functionals(feature_set: str) -> bool:
    """Whether the set also stores per-utterance functionals (eGeMAPSv02's 88)."""
    return feature_set == "egemaps"
