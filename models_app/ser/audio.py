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


def normalise(signal: np.ndarray, *, total: float | None = None) -> np.ndarray:
    """The authors' per-utterance normalisation (pyAudioAnalysis's dc_normalize): subtract the
    mean, divide by the largest absolute value (plus PEAK_GUARD). A new float64 array, peak ~1.

    total: the signal's sum when the caller has it already (saves a pass over long signals).
    """
    if signal.size == 0:
        return np.zeros(0)
    mean = (np.add.reduce(signal, axis=None) if total is None else total) / signal.size
    centred = np.subtract(signal, mean, dtype=np.float64)
    # max |x - mean| without an |x| temporary: max and -min of the centred signal.
    peak = max(float(centred.max()), -float(centred.min()))
    centred /= peak + PEAK_GUARD
    return centred


def prepare_signal(samples: np.ndarray, sample_rate: int, *, target_rate: int, normalised: bool = True) -> np.ndarray:
    """Any samples (int or float, mono or multichannel, any rate) -> the (n,) float64 signal at
    ``target_rate`` Hz that the feature extractor sees. Raises InvalidAudio for NaN/inf samples."""
    as_float = to_float(samples)
    # One summing pass finds NaN or inf (they make the sum non-finite); only then look closer.
    total = np.add.reduce(as_float, axis=None) if as_float.size else 0.0
    if not np.isfinite(total):
        check_finite(as_float)
        raise InvalidAudio("sample values are too large to be audio (their sum overflows)")
    mono = to_mono(as_float)
    at_rate = resample(mono, sample_rate, target_rate)
    if not normalised:
        return np.array(at_rate, dtype=np.float64)
    # The sum is reusable when the signal reached the target rate unchanged (the common case).
    return normalise(at_rate, total=total if at_rate is as_float else None)


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
