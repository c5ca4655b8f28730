"""The 34 short-term features of pyAudioAnalysis 0.3.14, computed for all frames at once.

Frame i covers samples [i * step, i * step + window); a signal of n samples has
floor((n - window) / step) + 1 frames, and none when it is shorter than one window (where the
reference raises an error, we return an empty matrix).

How it stays fast: blocks of frames are normalised into a buffer that stays in cache. The
time-domain features come from sums over a grid of short sub-blocks shared by overlapping
frames; the frequency-domain ones from batched real FFTs, after which each frame needs only a few
sums of its magnitude spectrum (moments, filterbank, sub-band powers, a few chroma bins) and one
product with the previous spectrum (flux). The sums are collected block by block and turned into
features for all frames at once. The filterbank, DCT and chroma matrices are cached
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
from numpy.lib.stride_tricks import sliding_window_view

from models_app.ser.audio import decode_to_rate, normalisation_parameters
from models_app.ser.features.config import ENERGY_COLUMN, N_FEATURES, FeatureConfig
from models_app.ser.features.spectral_tables import N_CHROMA, N_MFCC, SpectralTables, spectral_tables

# The reference's guard against log(0) and division by zero (Python's float epsilon, 2.2e-16).
EPS = sys.float_info.epsilon
# Frames per block: enough to amortise numpy's per-call overhead (~60 calls per block), few
# enough that the block's samples and magnitudes (1.6 MB each) stay in cache. Measured on 10
# minutes of speech: 64 to 256 perform alike, 32 is slower.
BLOCK_FRAMES = 128
# Frames per FFT call inside a block: pocketfft needs a batch of about 64 to run at full speed,
# and 64 spectra (1.6 MB) still fit the L2 cache for the |.| that follows. numpy's pocketfft
# gives the same bits as scipy's (which the reference's scipy.fftpack uses) and runs ~20% faster.
FFT_BATCH = 64
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
    # Per-utterance descriptors of sets that have them (eGeMAPSv02's 88 functionals), else None.
    utterance_vector: np.ndarray | None = None

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


def _time_domain_block(
    segment: np.ndarray, n_frames: int, window: int, step: int, n_blocks: int, rows: np.ndarray
) -> None:
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


class _SpectralSums:
    """Per-frame sums that the blocks collect from their spectra; the features are computed from
    them for all frames at once afterwards (few numpy calls per block, vectorised finishing)."""

    def __init__(self, n_frames: int, n_bands: int, n_mel: int) -> None:
        self.band_power = np.empty((n_frames, n_bands))  # power per sub-band (+ a leftover band)
        self.moments = np.empty((n_frames, 3))  # sum m, sum f m, sum f^2 m
        self.cross = np.empty(n_frames)  # m_i . m_{i-1} (frame 0: m_0 . m_0)
        self.mel = np.empty((n_frames, n_mel))  # filterbank energies of the unscaled magnitude
        self.chroma = np.empty((n_frames, N_CHROMA))  # chroma before dividing by the frame's power
        self.rolloff_bin = np.empty(n_frames)  # first bin past the roll-off point, -1 if none


def _spectral_block(
    frames: np.ndarray,
    tables: SpectralTables,
    rolloff_fraction: float,
    n_blocks: int,
    sums: _SpectralSums,
    first: int,
    previous: np.ndarray | None,
) -> np.ndarray:
    """Collect the sums of a block of frames (B, window) starting at frame ``first`` into
    ``sums``. previous: the magnitude of the frame before the block (None for frame 0).
    Returns the block's last magnitude (n_bins,), the next block's ``previous``.

    Works on the unscaled magnitude |FFT| rather than the reference's |FFT| / n_bins; every
    epsilon that the reference adds to a scaled quantity is scaled along.
    """
    n_bins = tables.n_bins
    b = frames.shape[0]
    rows = slice(first, first + b)
    # |FFT| of the whole contiguous spectrum (numpy's vectorised loop; a sliced view would take
    # its 2x slower strided path), FFT_BATCH frames at a time so each batch's complex spectrum
    # is still in cache when |.| reads it; then a view of the n_bins the reference keeps.
    magnitude_full = np.empty((b, frames.shape[1] // 2 + 1))  # rfft gives window // 2 + 1 bins
    for start in range(0, b, FFT_BATCH):
        np.abs(np.fft.rfft(frames[start : start + FFT_BATCH], axis=1), out=magnitude_full[start : start + FFT_BATCH])
    magnitude = magnitude_full[:, :n_bins]  # (B, n_bins)

    sub_len = n_bins // n_blocks
    covered = n_blocks * sub_len
    banded = magnitude[:, :covered].reshape(b, n_blocks, sub_len)
    band_power = sums.band_power[rows]
    np.einsum("ijk,ijk->ij", banded, banded, out=band_power[:, :n_blocks])
    if covered < n_bins:
        tail = magnitude[:, covered:]
        band_power[:, n_blocks] = np.einsum("ij,ij->i", tail, tail)
    np.matmul(magnitude, tables.centroid_moments, out=sums.moments[rows])
    cross = sums.cross[rows]
    cross[0] = magnitude[0] @ (magnitude[0] if previous is None else previous)
    np.einsum("ij,ij->i", magnitude[1:], magnitude[:-1], out=cross[1:])

    mel = sums.mel[rows]
    mel[:] = 0.0
    for piece in tables.mel_segments:
        mel[:, piece.filter_start : piece.filter_stop] += magnitude[:, piece.bin_start : piece.bin_stop] @ piece.weights
    chroma_map = tables.chroma
    picked = magnitude[:, chroma_map.source_bins]
    np.matmul((picked * picked) / chroma_map.divisors, chroma_map.class_onehot, out=sums.chroma[rows])

    # Roll-off: the first bin where the running power (+ eps) exceeds the fraction of the total.
    # Find the sub-band where it happens from the band sums, then the bin inside that band.
    power_eps = EPS * n_bins * n_bins  # the reference's eps, on power scaled by 1 / n_bins**2
    threshold = rolloff_fraction * band_power.sum(axis=1)
    running_bands = np.cumsum(band_power, axis=1) + power_eps
    crossed = running_bands > threshold[:, None]
    band = crossed.argmax(axis=1)
    rows_b = np.arange(b)
    before = np.where(band > 0, running_bands[rows_b, band - 1] - power_eps, 0.0)
    if covered == n_bins:
        in_band = banded[rows_b, band]  # (B, sub_len): one contiguous band per frame
    else:  # a shorter last band holds the bins the sub-bands leave over
        width = max(sub_len, n_bins - covered)
        inside = band[:, None] * sub_len + np.arange(width)[None, :]
        in_band = np.where(inside < n_bins, magnitude[rows_b[:, None], np.minimum(inside, n_bins - 1)], 0.0)
    running_inside = np.cumsum(np.square(in_band), axis=1)  # (B, width), in the reference's order
    running_inside += (before + power_eps)[:, None]
    past = running_inside > threshold[:, None]
    # The band's total crossed the threshold; should rounding put the crossing a hair beyond the
    # band's last running sum, the band's last bin is where it happens.
    first_bin = band * sub_len + np.where(past.any(axis=1), past.argmax(axis=1), in_band.shape[1] - 1)
    first_bin = np.minimum(first_bin, n_bins - 1)
    sums.rolloff_bin[rows] = np.where(crossed[rows_b, band], first_bin, -1)
    return magnitude[-1].copy()


def _spectral_features(
    sums: _SpectralSums, tables: SpectralTables, n_blocks: int, magnitudes_of, out: np.ndarray
) -> None:
    """Features 3..33 of all frames from the collected sums, into out (n_frames, 34).

    magnitudes_of(frame indices) -> (k, n_bins) recomputes the magnitude of a few frames, for the
    rows where a difference of sums would cancel (narrow or repeated spectra): those are
    computed directly. Centroid and spread drop the reference's + eps in the denominator
    (a relative change below 2.2e-16).
    """
    n_bins = tables.n_bins
    power_eps = EPS * n_bins * n_bins
    power = sums.band_power.sum(axis=1)
    out[:, _SPECTRAL_ENTROPY] = _entropy(sums.band_power[:, :n_blocks], power, power_eps)

    # Centroid and spread from the first three moments of the magnitude over the bin frequencies.
    mass, first, second = sums.moments[:, 0], sums.moments[:, 1], sums.moments[:, 2]
    safe_mass = np.where(mass > 0, mass, 1.0)
    centroid = first / safe_mass
    variance_sum = second - centroid * first  # sum (f - c)^2 m, as a difference of moments
    at_risk = np.flatnonzero((np.abs(variance_sum) <= _CANCELLATION_GUARD * second) & (second > 0))
    if at_risk.size:  # narrow spectra: sum (f - c)^2 m directly
        offsets = tables.bin_hz[None, :] - centroid[at_risk, None]
        variance_sum[at_risk] = np.einsum("ij,ij->i", offsets * offsets, magnitudes_of(at_risk))
    nyquist = tables.sample_rate / 2.0
    out[:, _CENTROID] = centroid / nyquist
    out[:, _SPREAD] = np.sqrt(np.maximum(variance_sum, 0.0) / safe_mass) / nyquist

    # Flux: sum over bins of (m_i / S_i - m_{i-1} / S_{i-1})^2, S = sum(m) + the reference's
    # eps terms, from the norms and the dot product of consecutive spectra.
    mass_eps = mass + power_eps
    share_norm = power / (mass_eps * mass_eps)  # ||m_i / S_i||^2
    flux = np.zeros_like(power)  # frame 0 is compared with itself in the reference: 0
    flux[1:] = share_norm[1:] + share_norm[:-1] - 2.0 * sums.cross[1:] / (mass_eps[1:] * mass_eps[:-1])
    scale = np.concatenate(([0.0], share_norm[1:] + share_norm[:-1]))
    at_risk = np.flatnonzero((np.abs(flux) <= _CANCELLATION_GUARD * scale) & (scale > 0))
    if at_risk.size:  # (near-)identical consecutive spectra: take the difference directly
        current, previous = magnitudes_of(at_risk), magnitudes_of(at_risk - 1)
        difference = current / mass_eps[at_risk, None] - previous / mass_eps[at_risk - 1, None]
        flux[at_risk] = np.einsum("ij,ij->i", difference, difference)
    out[:, _FLUX] = np.maximum(flux, 0.0)

    out[:, _ROLLOFF] = np.where(sums.rolloff_bin >= 0, sums.rolloff_bin / float(n_bins), 0.0)

    # MFCC: log10 of the filterbank energies (+ eps), then the DCT.
    mel = sums.mel / n_bins  # the reference's filterbank multiplies |FFT| / n_bins
    out[:, _MFCC] = np.log10(mel + EPS) @ tables.dct_t

    # Chroma: over the frame's total power (over eps for a silent frame, as the reference).
    chroma = sums.chroma / np.where(power == 0, EPS, power)[:, None]
    out[:, _CHROMA] = chroma
    out[:, _CHROMA_STD] = chroma.std(axis=1)


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
    n_bands = n_entropy_blocks + (1 if tables.n_bins % n_entropy_blocks else 0)
    sums = _SpectralSums(n_frames, n_bands, tables.mel_filterbank_t.shape[1])
    previous = None
    # Block by block: normalise the block's samples into a buffer that stays in cache, then take
    # what every feature needs from there (the normalised signal is never held whole).
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
        _time_domain_block(segment, last - first, window, step, n_entropy_blocks, out[first:last])
        frames = sliding_window_view(segment[: (last - first - 1) * step + window], window)[::step]
        previous = _spectral_block(frames, tables, rolloff_fraction, n_entropy_blocks, sums, first, previous)

    def magnitudes_of(frame_indices: np.ndarray) -> np.ndarray:
        """The same |FFT| the blocks saw, recomputed for a few frames (k,) -> (k, n_bins)."""
        frames = np.stack([signal[f * step : f * step + window] for f in frame_indices])
        if not identity:
            frames = (frames - offset) / divisor
        return np.abs(np.fft.rfft(frames, axis=1))[:, : tables.n_bins]

    _spectral_features(sums, tables, n_entropy_blocks, magnitudes_of, out)
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

    For the openSMILE sets (``config.feature_set`` other than ``pyaudioanalysis34``) the frames
    and their selection are the same; their columns are openSMILE's descriptors pooled onto
    them (features/opensmile_sets.py), and eGeMAPS adds its 88 functionals per utterance.
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
    # The paper's energy decides the kept frames for every set (the same frames, whatever describes them).
    kept = select_frames(
        all_frames[:, ENERGY_COLUMN], drop_edge_frames=config.drop_edge_frames, min_energy=config.min_energy
    )
    utterance_vector = None
    if config.feature_set != "pyaudioanalysis34":
        from models_app.ser.features import opensmile_sets
        from models_app.ser.features.columns import has_functionals

        all_frames = opensmile_sets.frame_descriptors(
            mono, config.sample_rate, config.feature_set, all_frames.shape[0], config.window_s, config.step_s
        )
        if has_functionals(config.feature_set) and kept.size:
            utterance_vector = opensmile_sets.egemaps_functionals(mono, config.sample_rate).astype(np.float32)
    return FrameFeatures(
        matrix=all_frames[kept].astype(np.float32),
        frame_index=kept.astype(np.int64),
        frame_step_s=config.step_s,
        window_s=config.window_s,
        n_frames_total=all_frames.shape[0],
        utterance_vector=utterance_vector,
    )
