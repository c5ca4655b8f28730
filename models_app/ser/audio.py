"""Decoding helpers used wherever audio enters the numerical core.

Every signal goes through the same steps, in this order, before features are computed:
samples to float in [-1, 1] -> check that every sample is finite -> mono (mean of the channels)
-> resample to the feature rate (polyphase) -> the authors' per-utterance normalisation.

Shapes: a signal is ``(n_samples,)`` or ``(n_samples, n_channels)``; sample rates are in Hz.
"""

from math import gcd
from pathlib import Path

import numpy as np
import soundfile
from scipy.signal import resample_poly

# pyAudioAnalysis's dc_normalize adds this to the peak before dividing, so that digital silence
# divides by a tiny number instead of zero. We keep it: it is part of the reference numbers.
PEAK_GUARD = 1e-10


class InvalidAudio(ValueError):
    """Samples that cannot be turned into features (NaN or infinite values, a bad shape).

    The message says what is wrong with the samples; the caller adds which utterance it was.
    """


def to_float(samples: np.ndarray) -> np.ndarray:
    """Samples as float64 in [-1, 1]: integer PCM is scaled by its full range (int16 / 2**15,
    as the authors did), floats are taken as they are. Shape is kept."""
    samples = np.asarray(samples)
    if samples.dtype == np.uint8:  # 8-bit wav is unsigned with its zero at 128
        return (samples.astype(np.float64) - 128.0) / 128.0
    if np.issubdtype(samples.dtype, np.integer):
        full_scale = float(2 ** (8 * samples.dtype.itemsize - 1))
        return samples.astype(np.float64) / full_scale
    if np.issubdtype(samples.dtype, np.floating):
        return samples.astype(np.float64, copy=False)
    raise InvalidAudio(f"samples of type {samples.dtype} are not audio")


def check_finite(samples: np.ndarray) -> None:
    """Raise InvalidAudio when any sample is NaN or infinite (a float wav can hold them; they
    would silently turn every feature of the utterance into NaN)."""
    finite = np.isfinite(samples)
    if finite.all():
        return
    n_nan = int(np.isnan(samples).sum())
    n_inf = int(np.isinf(samples).sum())
    first = int(np.argmin(finite.reshape(finite.shape[0], -1).all(axis=1)))
    raise InvalidAudio(
        f"audio holds {n_nan} NaN and {n_inf} infinite samples (first at sample {first}); "
        "features cannot be computed from it"
    )


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) -> (n,); (n, channels) -> (n,) as the mean of the channels."""
    if samples.ndim == 1:
        return samples
    if samples.ndim != 2:
        raise InvalidAudio(f"expected samples of shape (n,) or (n, channels), got {samples.shape}")
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1)


def resample(signal: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling of a mono signal from ``from_rate`` to ``to_rate`` Hz.

    Uses the reduced ratio (48000 -> 16000 is up 1, down 3; 22050 -> 16000 is up 320, down 441)
    and scipy's default Kaiser anti-aliasing filter. Output length is ceil(n * up / down).
    """
    if from_rate <= 0 or to_rate <= 0:
        raise InvalidAudio(f"sample rates must be positive, got {from_rate} -> {to_rate}")
    if from_rate == to_rate:
        return signal
    if signal.size == 0:
        return np.zeros(0)
    common = gcd(int(from_rate), int(to_rate))
    return resample_poly(signal, int(to_rate) // common, int(from_rate) // common)


# Leaves of the summation tree below: small enough to stay in cache for the max and min.
_SUMMARY_LEAF = 1 << 16


def signal_summary(signal: np.ndarray) -> tuple[float, float, float]:
    """(sum, max, min) of a 1-D float64 signal in one pass over memory.

    The sum is bit-identical to ``np.add.reduce(signal)`` (so the mean is numpy's, and
    pyAudioAnalysis's, to the last bit): it follows numpy's pairwise summation tree (halves cut
    at a multiple of 8) down to leaves of up to 65536 samples, sums each leaf with numpy, and
    takes the leaf's max and min while the leaf is in cache.
    """
    if signal.size <= _SUMMARY_LEAF:
        if signal.size == 0:
            return 0.0, -np.inf, np.inf
        return float(np.add.reduce(signal)), float(signal.max()), float(signal.min())
    half = signal.size // 2
    half -= half % 8
    left_total, left_high, left_low = signal_summary(signal[:half])
    right_total, right_high, right_low = signal_summary(signal[half:])
    return left_total + right_total, max(left_high, right_high), min(left_low, right_low)


def normalisation_parameters(
    signal: np.ndarray, summary: tuple[float, float, float] | None = None
) -> tuple[float, float]:
    """(mean, divisor) of the authors' normalisation: x -> (x - mean) / divisor, with divisor =
    max |x - mean| + PEAK_GUARD. max |x - mean| is max(max(x) - mean, mean - min(x)) exactly,
    because subtracting the mean is monotone under rounding. (0, 1) for an empty signal."""
    if signal.size == 0:
        return 0.0, 1.0
    total, high, low = summary if summary is not None else signal_summary(signal)
    mean = total / signal.size
    return mean, max(high - mean, -(low - mean)) + PEAK_GUARD


def normalise(signal: np.ndarray) -> np.ndarray:
    """The authors' per-utterance normalisation (pyAudioAnalysis's dc_normalize): subtract the
    mean, divide by the largest absolute value (plus PEAK_GUARD). A new float64 array, peak ~1."""
    if signal.size == 0:
        return np.zeros(0)
    signal = np.asarray(signal, dtype=np.float64)
    mean, divisor = normalisation_parameters(signal)
    centred = np.subtract(signal, mean)
    centred /= divisor
    return centred


def decode_to_rate(
    samples: np.ndarray, sample_rate: int, target_rate: int
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Samples -> (the (n,) float64 mono signal at ``target_rate`` Hz, its signal_summary).
    Raises InvalidAudio for NaN or infinite samples (found through the summary's sum, which they
    make non-finite, then located in the original samples)."""
    as_float = to_float(samples)
    mono = np.asarray(resample(to_mono(as_float), sample_rate, target_rate), dtype=np.float64)
    summary = signal_summary(mono)
    if not np.isfinite(summary[0]):
        check_finite(as_float)
        raise InvalidAudio("sample values are too large to be audio (their sum overflows)")
    return mono, summary


def prepare_signal(samples: np.ndarray, sample_rate: int, *, target_rate: int, normalised: bool = True) -> np.ndarray:
    """Any samples (int or float, mono or multichannel, any rate) -> the (n,) float64 signal at
    ``target_rate`` Hz that the feature extractor sees. Raises InvalidAudio for NaN/inf samples."""
    mono, summary = decode_to_rate(samples, sample_rate, target_rate)
    if not normalised:
        return np.array(mono, dtype=np.float64)
    mean, divisor = normalisation_parameters(mono, summary)
    centred = np.subtract(mono, mean)
    centred /= divisor
    return centred


def read_audio(path: Path) -> tuple[np.ndarray, int]:
    """Decode an audio file: (samples (n, channels) float64 in [-1, 1], sample rate in Hz).

    Raises FileNotFoundError for a missing file and InvalidAudio for one that does not decode.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"audio file not found: {path}")
    try:
        samples, sample_rate = soundfile.read(str(path), dtype="float64", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as exc:
        raise InvalidAudio(f"not a readable audio file ({exc})") from None
    return samples, int(sample_rate)
