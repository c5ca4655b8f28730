"""Signal post-processing for the emotion renderings. Mono float signals, shape (n,), in [-1, 1].

Zero-phase filters (``sosfiltfilt``) keep the speech where it was, so spans measured before
filtering stay true.
"""

import numpy as np
from scipy import signal

TARGET_SAMPLE_RATE = 16000  # Hz, the paper's rate and every feature extractor's


def soft_clip(x: np.ndarray, drive: float) -> np.ndarray:
    """tanh saturation, like a voice pushed to its limit: flattens peaks, adds odd harmonics.

    ``drive`` (>= 0) is the gain into the tanh for a signal first brought to peak 1; 0 = unchanged.
    The output keeps the input's peak.
    """
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if drive <= 0 or peak == 0:
        return x
    return (np.tanh(drive * x / peak) / np.tanh(drive) * peak).astype(x.dtype, copy=False)


def brighten(x: np.ndarray, sample_rate: int, gain: float, corner_hz: float = 2000.0) -> np.ndarray:
    """Add ``gain`` times the band above ``corner_hz``: a tenser, brighter voice quality."""
    if gain <= 0:
        return x
    sos = signal.butter(2, corner_hz, btype="highpass", fs=sample_rate, output="sos")
    return (x + gain * signal.sosfiltfilt(sos, x)).astype(x.dtype, copy=False)


def low_pass(x: np.ndarray, sample_rate: int, cutoff_hz: float) -> np.ndarray:
    """4th-order Butterworth low-pass: a darker, muffled voice. No-op at or above 0.45 x rate."""
    if cutoff_hz >= 0.45 * sample_rate:
        return x
    sos = signal.butter(4, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    return signal.sosfiltfilt(sos, x).astype(x.dtype, copy=False)


def tremolo(x: np.ndarray, sample_rate: int, rate_hz: float, depth: float, phase: float = 0.0) -> np.ndarray:
    """Slow amplitude wobble (a shaky voice). ``depth`` in [0, 1): the gain swings 1 .. 1 - depth."""
    if depth <= 0:
        return x
    t = np.arange(x.size) / sample_rate  # seconds
    gain = 1.0 - depth * 0.5 * (1.0 + np.sin(2 * np.pi * rate_hz * t + phase))
    return (x * gain).astype(x.dtype, copy=False)


def to_target_rate(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Polyphase resampling to 16 kHz (22,050 -> 16,000 is 320/441), anti-aliased."""
    if sample_rate == TARGET_SAMPLE_RATE:
        return x
    g = np.gcd(TARGET_SAMPLE_RATE, sample_rate)
    return signal.resample_poly(x, TARGET_SAMPLE_RATE // g, sample_rate // g).astype(np.float32)


def scale_to_peak(x: np.ndarray, peak: float) -> np.ndarray:
    current = float(np.max(np.abs(x))) if x.size else 0.0
    if current == 0:
        return x
    return (x * (peak / current)).astype(np.float32)


def silence(seconds: float, sample_rate: int = TARGET_SAMPLE_RATE) -> np.ndarray:
    return np.zeros(int(round(seconds * sample_rate)), dtype=np.float32)


def add_room_noise(
    x: np.ndarray, rng: np.random.Generator, rms: float, sample_rate: int = TARGET_SAMPLE_RATE
) -> np.ndarray:
    """Add a low, slightly dark noise floor of the given RMS (full scale = 1), as a quiet room
    adds: pauses are then not digital zeros, and their energy stays well below speech."""
    noise = rng.standard_normal(x.size).astype(np.float32)
    sos = signal.butter(1, 3000, btype="lowpass", fs=sample_rate, output="sos")
    noise = signal.sosfilt(sos, noise).astype(np.float32)
    noise *= rms / max(float(np.sqrt(np.mean(noise**2))), 1e-12)
    return x + noise
