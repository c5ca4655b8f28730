"""The 34 short-term features of pyAudioAnalysis 0.3.14, computed for all frames at once.

Frame i covers samples [i * step, i * step + window); a signal of n samples has
floor((n - window) / step) + 1 frames, and none when it is shorter than one window (where the
reference raises an error, we return an empty matrix).

How it stays fast: the time-domain features come from sums over a grid of short blocks shared by
overlapping frames; the frequency-domain features from one batched real FFT per block of frames,
after which every feature is a linear function of the magnitude spectrum (moments, filterbank,
sub-band power sums, a few chroma bins) or of two consecutive spectra (flux), so each spectrum is
read a handful of times and never copied. The filterbank, DCT and chroma matrices are cached
(:mod:`.spectral_tables`).

How it stays exact: every formula, epsilon included, follows the reference. Where an algebraic
shortcut could lose digits (spread and flux as differences of moments) the rows at risk are
recomputed the direct way. The equality test (tests/models_app/test_features_equality.py) holds
the result to the reference within rtol 1e-6 + atol 1e-12 (docs/features.md).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view

from models_app.ser.audio import decode_to_rate, normalisation_parameters
from models_app.ser.features.config import ENERGY_COLUMN, N_FEATURES, FeatureConfig
from models_app.ser.features.spectral_tables import N_CHROMA, N_MFCC, SpectralTables, spectral_tables

# The reference's guard against log(0) and division by zero (Python's float epsilon, 2.2e-16).
EPS = sys.float_info.epsilon
# Frames per batched FFT: enough to amortise numpy's per-call overhead (~100 calls per block),
# few enough that a block's spectra (128 x 1601 complex values, 3.3 MB) stay in cache. Measured
# best among 32..512 on 10 minutes of audio (docs/features.md).
BLOCK_FRAMES = 128
# A difference of moments that cancels more than this share of its terms is recomputed directly
# (keeps ~8 significant digits where the shortcut would keep fewer).
_CANCELLATION_GUARD = 1e-8

# Column layout of the 34 features (see config.FEATURE_NAMES).
_ZCR, _ENERGY, _ENERGY_ENTROPY = 0, 1, 2
_CENTROID, _SPREAD, _SPECTRAL_ENTROPY, _FLUX, _ROLLOFF = 3, 4, 5, 6, 7
_MFCC = slice(8, 8 + N_MFCC)
_CHROMA = slice(8 + N_MFCC, 8 + N_MFCC + N_CHROMA)
_CHROMA_STD = 8 + N_MFCC + N_CHROMA
assert _ENERGY == ENERGY_COLUMN and _CHROMA_STD == N_FEATURES - 1


@dataclass(frozen=True)
class FrameFeatures:
    """The features of one signal.

    matrix: (n_kept, 34) float32, columns in FEATURE_NAMES order.
    frame_index: (n_kept,) int64, the position of each kept frame among all frames of the signal,
        so kept frame j starts at frame_index[j] * frame_step_s seconds and lasts window_s.
    n_frames_total: frames before any selection.
    """

    matrix: np.ndarray
    frame_index: np.ndarray
    frame_step_s: float
    window_s: float
    n_frames_total: int

    @property
    def n_frames(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def frame_start_s(self) -> np.ndarray:
        """(n_kept,) start time of each kept frame in seconds."""
        return self.frame_index * self.frame_step_s


def frame_count(n_samples: int, window: int, step: int) -> int:
    """floor((n - window) / step) + 1 frames, 0 when the signal is shorter than one window."""
    return 0 if n_samples < window else (n_samples - window) // step + 1


def _entropy(block_energy: np.ndarray, total_energy: np.ndarray, eps_total: float) -> np.ndarray:
    """-sum(s * log2(s + eps)) of the shares s = block / (total + eps_total). (B, k), (B,) -> (B,)"""
    share = block_energy / (total_energy + eps_total)[:, None]
    return -np.sum(share * np.log2(share + EPS), axis=1)


# --- time domain: zcr, energy, energy entropy -------------------------------------------------


def _exact_crossings(segment: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """The reference's count sum(|diff(sign(frame))|) / 2 per frame, where np.sign(0) = 0 makes
    touching zero half a crossing. starts: frame starts within ``segment``. (B,) float64."""
    changes = np.abs(np.diff(np.sign(segment[: starts[-1] + window])))
    running = np.concatenate(([0.0], np.cumsum(changes)))
    return (running[starts + window - 1] - running[starts]) / 2


def _time_domain_block(segment: np.ndarray, n_frames: int, window: int, step: int, n_blocks: int, rows: np.ndarray) -> None:
    """zcr, energy and energy entropy of ``n_frames`` frames starting every ``step`` samples of
    ``segment`` (which holds them all, plus the next sample when the signal has one), into
    rows[:, 0:3]."""
    block_len = window // n_blocks
    starts = np.arange(n_frames) * step
    span = (n_frames - 1) * step + window
    if block_len * n_blocks == window and step % block_len == 0:
        # Frames start on a grid of entropy blocks: sum each grid block once, share between frames.
        n_grid = span // block_len
        grid = segment[:span].reshape(n_grid, block_len)
        grid_energy = np.einsum("ij,ij->i", grid, grid)
        block_energy = sliding_window_view(grid_energy, n_blocks)[:: step // block_len]  # (B, n_blocks)
        total = block_energy.sum(axis=1)
        if segment[:span].all():
            # No exact zeros: a crossing is a change of sign bit between neighbours. Per grid block
            # count the changes from each sample to the next; a frame's blocks then also count the
            # pair (its last sample, the sample after it), which is taken off again.
            sign = np.signbit(segment[: span + 1])
            flips = np.not_equal(sign[1:], sign[:-1])
            if flips.size < span:  # the signal ends with this frame: nothing follows
                flips = np.append(flips, False)
            grid_flips = flips[:span].reshape(n_grid, block_len).view(np.uint8).sum(axis=1, dtype=np.int32)
            frame_flips = sliding_window_view(grid_flips, n_blocks)[:: step // block_len].sum(axis=1)
            crossings = frame_flips - flips[starts + window - 1]
        else:
            crossings = _exact_crossings(segment, starts, window)
    else:
        frames_sq = sliding_window_view(segment[:span] ** 2, window)[::step]
        covered = n_blocks * block_len
        block_energy = frames_sq[:, :covered].reshape(n_frames, n_blocks, block_len).sum(axis=2)
        total = frames_sq.sum(axis=1)
        crossings = _exact_crossings(segment, starts, window)
    rows[:, _ZCR] = crossings / (window - 1.0)
    rows[:, _ENERGY] = total / float(window)
    rows[:, _ENERGY_ENTROPY] = _entropy(block_energy, total, EPS)


# --- frequency domain -----------------------------------------------------------------------


class _SpectralState:
    """What one block of frames passes to the next: the last frame's magnitude for the flux."""

    def __init__(self) -> None:
        self.magnitude: np.ndarray | None = None  # (n_bins,)
        self.power: float = 0.0
        self.mass: float = 0.0


def _spectral_block(
    frames: np.ndarray,
    tables: SpectralTables,
    rolloff_fraction: float,
    n_blocks: int,
    state: _SpectralState,
    rows: np.ndarray,
) -> None:
    """Features 3..33 of a block of frames (B, window) into rows (B, 34).

    Works on the unscaled magnitude |FFT| rather than the reference's |FFT| / n_bins; every
    epsilon that the reference adds to a scaled quantity is scaled along (n_bins or n_bins**2)
    so the numbers agree. Centroid and spread drop the reference's + eps in the denominator
    (a relative change below 2.2e-16).
    """
    n_bins = tables.n_bins
    b = frames.shape[0]
    # |FFT| of the whole contiguous spectrum (numpy's vectorised loop; a sliced view would take
    # its 2x slower strided path), then a view of the n_bins the reference keeps.
    magnitude = np.abs(scipy.fft.rfft(frames, axis=1, workers=1))[:, :n_bins]  # (B, n_bins)

    # Power per sub-band (the spectral entropy's blocks), then the total power.
    sub_len = n_bins // n_blocks
    covered = n_blocks * sub_len
    banded = magnitude[:, :covered].reshape(b, n_blocks, sub_len)
    band_power = np.einsum("ijk,ijk->ij", banded, banded)  # (B, n_blocks)
    if covered < n_bins:
        tail = magnitude[:, covered:]
        tail_power = np.einsum("ij,ij->i", tail, tail)
        power = band_power.sum(axis=1) + tail_power
        coarse_power = np.concatenate([band_power, tail_power[:, None]], axis=1)
    else:
        power = band_power.sum(axis=1)
        coarse_power = band_power
    power_eps = EPS * n_bins * n_bins  # the reference's eps, on power scaled by 1 / n_bins**2
    rows[:, _SPECTRAL_ENTROPY] = _entropy(band_power, power, power_eps)

    # Centroid and spread: first three moments of the magnitude over the bin frequencies.
    moments = magnitude @ tables.centroid_moments  # (B, 3): sum m, sum f m, sum f^2 m
    mass, first, second = moments[:, 0], moments[:, 1], moments[:, 2]
    safe_mass = np.where(mass > 0, mass, 1.0)
    centroid = first / safe_mass
    variance_sum = second - centroid * first  # sum (f - c)^2 m, as a difference of moments
    at_risk = np.flatnonzero(np.abs(variance_sum) <= _CANCELLATION_GUARD * second)
    if at_risk.size:  # narrow spectra: compute sum (f - c)^2 m directly
        offsets = tables.bin_hz[None, :] - centroid[at_risk, None]
        variance_sum[at_risk] = np.einsum("ij,ij->i", offsets * offsets, magnitude[at_risk])
    nyquist = tables.sample_rate / 2.0
    rows[:, _CENTROID] = centroid / nyquist
    rows[:, _SPREAD] = np.sqrt(np.maximum(variance_sum, 0.0) / safe_mass) / nyquist

    # Flux: sum over bins of (m_i / S_i - m_{i-1} / S_{i-1})^2 with S = sum(m) + eps terms, from
    # ||m_i||^2, ||m_{i-1}||^2 and the dot product of consecutive spectra.
    mass_eps = mass + EPS * n_bins * n_bins
    if state.magnitude is None:
        previous_magnitude, previous_power, previous_mass = magnitude[:1], power[:1], mass_eps[:1]
    else:
        previous_magnitude = state.magnitude[None, :]
        previous_power, previous_mass = np.array([state.power]), np.array([state.mass])
    prev_power = np.concatenate([previous_power, power[:-1]])
    prev_mass = np.concatenate([previous_mass, mass_eps[:-1]])
    cross = np.empty(b)
    cross[0] = magnitude[0] @ previous_magnitude[0]
    cross[1:] = np.einsum("ij,ij->i", magnitude[1:], magnitude[:-1])
    own = power / (mass_eps * mass_eps)
    other = prev_power / (prev_mass * prev_mass)
    flux = own + other - 2.0 * cross / (mass_eps * prev_mass)
    at_risk = np.flatnonzero(np.abs(flux) <= _CANCELLATION_GUARD * (own + other))
    for row in at_risk:  # (near-)identical consecutive spectra: take the difference directly
        previous = magnitude[row - 1] if row > 0 else previous_magnitude[0]
        difference = magnitude[row] / mass_eps[row] - previous / prev_mass[row]
        flux[row] = difference @ difference
    if state.magnitude is None:
        flux[0] = 0.0  # the reference compares the first frame with itself
    rows[:, _FLUX] = np.maximum(flux, 0.0)
    state.magnitude, state.power, state.mass = magnitude[-1].copy(), float(power[-1]), float(mass_eps[-1])

    # Roll-off: the first bin where the running power (+ eps) exceeds the fraction of the total.
    # Find the sub-band where it happens from the band sums, then the bin inside that band.
    threshold = rolloff_fraction * power
    running_bands = np.cumsum(coarse_power, axis=1) + power_eps
    crossed = running_bands > threshold[:, None]
    band = crossed.argmax(axis=1)
    rows_b = np.arange(b)
    found = crossed[rows_b, band]
    before = np.where(band > 0, running_bands[rows_b, band - 1] - power_eps, 0.0)
    if covered == n_bins:
        in_band = banded[rows_b, band]  # (B, sub_len): one contiguous band per frame
    else:  # a shorter last band holds the bins the sub-bands leave over
        width = max(sub_len, n_bins - covered)
        inside = band[:, None] * sub_len + np.arange(width)[None, :]
        in_band = np.where(inside < n_bins, magnitude[rows_b[:, None], np.minimum(inside, n_bins - 1)], 0.0)
    # Running sums down the columns of the transposed band: numpy vectorises a cumulative sum
    # across rows, not along one, and the order of additions per frame stays the reference's.
    band_power_t = np.square(in_band).T.copy()  # (sub_len, B)
    running_inside = np.cumsum(band_power_t, axis=0)
    running_inside += before + power_eps
    first_bin = band * sub_len + (running_inside > threshold).argmax(axis=0)
    rows[:, _ROLLOFF] = np.where(found, first_bin / float(n_bins), 0.0)

    # MFCC: log10 of the filterbank energies (+ eps), then the DCT.
    mel_energy = np.zeros((b, tables.mel_filterbank_t.shape[1]))
    for piece in tables.mel_segments:
        mel_energy[:, piece.filter_start : piece.filter_stop] += magnitude[:, piece.bin_start : piece.bin_stop] @ piece.weights
    mel_energy /= n_bins  # the reference's filterbank multiplies |FFT| / n_bins
    rows[:, _MFCC] = np.log10(mel_energy + EPS) @ tables.dct_t

    # Chroma: a fixed sparse map of the power spectrum, over the frame's total power.
    chroma_map = tables.chroma
    picked = magnitude[:, chroma_map.source_bins]
    chroma = ((picked * picked) / chroma_map.divisors) @ chroma_map.class_onehot
    chroma /= np.where(power == 0, EPS, power)[:, None]
    rows[:, _CHROMA] = chroma
    rows[:, _CHROMA_STD] = chroma.std(axis=1)


def short_term_features(
    signal: np.ndarray,
    sample_rate: int,
    window: int,
    step: int,
    *,
    rolloff_fraction: float = 0.90,
    n_entropy_blocks: int = 10,
    offset: float = 0.0,
    divisor: float = 1.0,
) -> np.ndarray:
    """All frames' 34 features of a mono signal, without any frame selection.

    signal: (n_samples,) float; each sample enters as (x - offset) / divisor, so the caller can
    pass the normalisation (audio.normalisation_parameters) instead of a normalised copy; the defaults take
    the signal as it is. sample_rate in Hz; window and step in samples.
    Returns (n_frames, 34) float64 in FEATURE_NAMES order.
    """
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 1:
        raise ValueError(f"expected a mono signal of shape (n,), got {signal.shape}")
    n_frames = frame_count(signal.size, window, step)
    out = np.empty((n_frames, N_FEATURES))
    if n_frames == 0:
        return out
    tables = spectral_tables(int(sample_rate), int(window))
    identity = offset == 0.0 and divisor == 1.0
    buffer = None if identity else np.empty(min((BLOCK_FRAMES - 1) * step + window + 1, signal.size))
    state = _SpectralState()
    # Block by block: normalise the block's samples into a buffer that stays in cache, then compute
    # every feature of its frames from there (the normalised signal is never held whole).
    for first in range(0, n_frames, BLOCK_FRAMES):
        last = min(first + BLOCK_FRAMES, n_frames)
        begin = first * step
        end = min((last - 1) * step + window + 1, signal.size)  # one sample past the last frame, if any
        if identity:
            segment = signal[begin:end]
        else:
            segment = buffer[: end - begin]
            np.subtract(signal[begin:end], offset, out=segment)
            segment /= divisor
        rows = out[first:last]
        _time_domain_block(segment, last - first, window, step, n_entropy_blocks, rows)
        frames = sliding_window_view(segment[: (last - first - 1) * step + window], window)[::step]
        _spectral_block(frames, tables, rolloff_fraction, n_entropy_blocks, state, rows)
    return out


def select_frames(energy: np.ndarray, *, drop_edge_frames: bool, min_energy: float | None) -> np.ndarray:
    """Indices of the frames the authors kept. energy: (n_frames,) -> (n_kept,) int64.

    drop_edge_frames: drop the first and last frame when there are more than 2.
    min_energy: drop every frame whose energy is <= it (None keeps all).
    """
    keep = np.ones(energy.size, dtype=bool)
    if drop_edge_frames and energy.size > 2:
        keep[[0, -1]] = False
    if min_energy is not None:
        keep &= energy > min_energy
    return np.flatnonzero(keep)


def extract(signal: np.ndarray, sample_rate: int, config: FeatureConfig | None = None) -> FrameFeatures:
    """Features of one utterance under ``config`` (default: the paper preset).

    signal: (n,) or (n, channels) samples, int PCM or float in [-1, 1]; sample_rate in Hz. The
    signal is made mono, resampled to config.sample_rate, normalised (as audio.prepare_signal
    does, applied block by block), framed, and the configured frame selection applied.
    Raises audio.InvalidAudio for NaN or infinite samples.
    """
    config = config or FeatureConfig()
    mono, summary = decode_to_rate(signal, sample_rate, config.sample_rate)
    offset, divisor = normalisation_parameters(mono, summary) if config.normalise else (0.0, 1.0)
    all_frames = short_term_features(
        mono,
        config.sample_rate,
        config.window_samples,
        config.step_samples,
        rolloff_fraction=config.rolloff_fraction,
        n_entropy_blocks=config.n_entropy_blocks,
        offset=offset,
        divisor=divisor,
    )
    kept = select_frames(all_frames[:, ENERGY_COLUMN], drop_edge_frames=config.drop_edge_frames, min_energy=config.min_energy)
    return FrameFeatures(
        matrix=all_frames[kept].astype(np.float32),
        frame_index=kept.astype(np.int64),
        frame_step_s=config.step_s,
        window_s=config.window_s,
        n_frames_total=all_frames.shape[0],
    )
