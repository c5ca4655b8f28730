"""The fixed matrices of the spectral features, built once per (sample rate, window) and cached.

They reproduce pyAudioAnalysis 0.3.14's definitions, quirks included, because its numbers are the
reference the paper's models were trained on:

- The MFCC filterbank (13 linear + 27 log-spaced triangles from 133.33 Hz, after scikits.talkbox)
  places bin k at k * rate / n_bins Hz, although the magnitude spectrum it multiplies has bin k at
  k * rate / window Hz: the triangles sit at half the frequency they name. Kept as is.
- Chroma maps bin k (at (k + 1) * rate / window Hz) to the pitch number
  round(12 * log2(f / 27.5)), which is negative below 27.5 Hz. The reference writes each bin's power
  to slot ``pitch`` of a vector as long as the spectrum (negative pitches wrap to its end, and where
  several bins share a pitch only the highest bin survives), divides slot p by the number of bins
  that share *bin p's* pitch, and sums the slots by p mod 12. That is a fixed sparse linear map of
  the power spectrum, which is what :class:`ChromaMap` stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

N_MFCC = 13
N_CHROMA = 12
_MEL_LOW_HZ = 133.33
_MEL_LINEAR_STEP_HZ = 200 / 3
_MEL_LOG_FACTOR = 1.0711703
_MEL_N_LINEAR = 13
_MEL_N_LOG = 27
_CHROMA_REFERENCE_HZ = 27.50  # A0


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@dataclass(frozen=True)
class ChromaMap:
    """chroma (B, 12) = (power[:, source_bins] / divisors) @ class_onehot, before dividing by the
    frame's total power. source_bins: (P,) int; divisors: (P,) float; class_onehot: (P, 12)."""

    source_bins: np.ndarray
    divisors: np.ndarray
    class_onehot: np.ndarray


@dataclass(frozen=True)
class MelSegment:
    """One piece of the filterbank product: bins [bin_start, bin_stop) feed filters
    [filter_start, filter_stop) through ``weights`` (bins x filters)."""

    bin_start: int
    bin_stop: int
    filter_start: int
    filter_stop: int
    weights: np.ndarray


@dataclass(frozen=True)
class SpectralTables:
    """Matrices for one (sample_rate, window). ``n_bins`` = window // 2 magnitude bins are used."""

    sample_rate: int
    window: int
    n_bins: int
    bin_hz: np.ndarray  # (n_bins,) the centroid/spread frequency of bin k: (k + 1) * rate / (2 * n_bins)
    centroid_moments: np.ndarray  # (n_bins, 3): columns 1, f, f**2 for the spectral moments
    mel_filterbank_t: np.ndarray  # (mel_bins, 40): the filterbank transposed, cut to its non-zero bins
    mel_bins: int  # filterbank is zero above this bin, so the product reads only magnitude[:, :mel_bins]
    # The same product in a few dense pieces along the filterbank's diagonal band: 95% of the
    # matrix is zero, and the pieces skip most of it (4x faster than one dense product).
    mel_segments: tuple[MelSegment, ...]
    dct_t: np.ndarray  # (40, 13): orthonormal DCT-II, first 13 coefficients
    chroma: ChromaMap


def mel_filterbank(sample_rate: int, n_bins: int) -> np.ndarray:
    """(40, n_bins) triangular filters as pyAudioAnalysis builds them (see the module docstring)."""
    n_filters = _MEL_N_LINEAR + _MEL_N_LOG
    edges = np.zeros(n_filters + 2)
    edges[:_MEL_N_LINEAR] = _MEL_LOW_HZ + np.arange(_MEL_N_LINEAR) * _MEL_LINEAR_STEP_HZ
    edges[_MEL_N_LINEAR:] = edges[_MEL_N_LINEAR - 1] * _MEL_LOG_FACTOR ** np.arange(1, _MEL_N_LOG + 3)
    peak_heights = 2.0 / (edges[2:] - edges[:-2])  # each triangle has unit area

    bin_hz = np.arange(n_bins) / (1.0 * n_bins) * sample_rate  # the reference's (halved) bin frequencies
    # A bin belongs to the rising edge when floor(low) < k <= floor(centre), to the falling edge when
    # floor(centre) < k <= floor(high), where floor(x) = floor(x_hz * n_bins / rate).
    low, centre, high = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    to_bin = n_bins / sample_rate
    k = np.arange(n_bins)[None, :]
    rising = (k > np.floor(low * to_bin)) & (k <= np.floor(centre * to_bin))
    falling = (k > np.floor(centre * to_bin)) & (k <= np.floor(high * to_bin))
    rising_value = (peak_heights[:, None] / (centre - low)) * (bin_hz[None, :] - low)
    falling_value = (peak_heights[:, None] / (high - centre)) * (high - bin_hz[None, :])
    return np.where(rising, rising_value, np.where(falling, falling_value, 0.0))


def dct_ii_orthonormal(n_inputs: int, n_outputs: int) -> np.ndarray:
    """(n_outputs, n_inputs) orthonormal DCT-II matrix (scipy's dct(type=2, norm='ortho'))."""
    k = np.arange(n_outputs)[:, None]
    n = np.arange(n_inputs)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_inputs))
    scale = np.full((n_outputs, 1), np.sqrt(2.0 / n_inputs))
    scale[0, 0] = np.sqrt(1.0 / n_inputs)
    return basis * scale


def chroma_map(sample_rate: int, n_bins: int) -> ChromaMap:
    """The reference's chroma as a sparse linear map of the power spectrum (module docstring)."""
    bin_hz = ((np.arange(n_bins) + 1) * sample_rate) / (2 * n_bins)
    pitch = np.round(12.0 * np.log2(bin_hz / _CHROMA_REFERENCE_HZ)).astype(int)
    if pitch.max() >= n_bins or pitch.min() < -n_bins:
        # The reference fails here (an index or shape error); refuse with a reason instead.
        raise ValueError(
            f"a window of {2 * n_bins} samples at {sample_rate} Hz is too short for pyAudioAnalysis's chroma "
            f"(pitch numbers reach {pitch.max()}, more than its {n_bins} spectrum bins)"
        )
    bins_sharing_pitch = np.zeros(n_bins)
    values, inverse, counts = np.unique(pitch, return_inverse=True, return_counts=True)
    bins_sharing_pitch[:] = counts[inverse]

    # Slot of each pitch (negative pitches wrap around the spectrum-long vector); for a pitch shared
    # by several bins, the last (highest) bin is the one whose power stays in the slot.
    slots = np.mod(values, n_bins)
    last_bin_of_pitch = np.zeros(values.size, dtype=int)
    last_bin_of_pitch[inverse] = np.arange(n_bins)  # later bins overwrite earlier ones, as in the reference
    order = np.argsort(slots)
    slots, source_bins = slots[order], last_bin_of_pitch[order]
    # The reference divides slot p by the share count of the bin whose *index* is pitch[p]
    # (its index array is indexed by slot, not by pitch).
    divisors = bins_sharing_pitch[np.mod(pitch[slots], n_bins)]
    class_onehot = np.zeros((slots.size, N_CHROMA))
    class_onehot[np.arange(slots.size), slots % N_CHROMA] = 1.0
    return ChromaMap(_frozen(source_bins), _frozen(divisors), _frozen(class_onehot))


# Cost of one more piece in the segmented filterbank product, in multiply-adds per frame (the
# per-call overhead of a small matrix product, measured as ~1500 multiply-adds).
_SEGMENT_OVERHEAD = 1500


def mel_segments(filterbank_t: np.ndarray) -> tuple[MelSegment, ...]:
    """Split (bins, filters) into pieces along its band so that sum(bins x filters) plus a per
    piece overhead is smallest (dynamic programming over the filters' first bins as cut points)."""
    n_bins, n_filters = filterbank_t.shape
    nonzero = filterbank_t != 0
    if not nonzero.any():
        return (MelSegment(0, n_bins, 0, n_filters, filterbank_t),)
    first_bin = np.array([np.flatnonzero(col)[0] if col.any() else n_bins for col in nonzero.T])
    last_bin = np.array([np.flatnonzero(col)[-1] + 1 if col.any() else 0 for col in nonzero.T])
    start = int(first_bin.min())
    cuts = sorted({start, n_bins, *(int(b) for b in first_bin if start < b < n_bins)})

    def touching(a: int, b: int) -> tuple[int, int]:
        hit = np.flatnonzero((first_bin < b) & (last_bin > a))
        return (int(hit[0]), int(hit[-1]) + 1) if hit.size else (0, 0)

    best = {0: (0.0, -1)}  # cut index -> (cost to reach it, previous cut index)
    for j in range(1, len(cuts)):
        options = []
        for i in range(j):
            lo, hi = touching(cuts[i], cuts[j])
            options.append((best[i][0] + (cuts[j] - cuts[i]) * (hi - lo) + _SEGMENT_OVERHEAD, i))
        best[j] = min(options)
    pieces = []
    j = len(cuts) - 1
    while j > 0:
        i = best[j][1]
        lo, hi = touching(cuts[i], cuts[j])
        if hi > lo:
            weights = np.ascontiguousarray(filterbank_t[cuts[i] : cuts[j], lo:hi])
            pieces.append(MelSegment(cuts[i], cuts[j], lo, hi, _frozen(weights)))
        j = i
    return tuple(reversed(pieces))


@lru_cache(maxsize=16)
def spectral_tables(sample_rate: int, window: int) -> SpectralTables:
    """All matrices for one (sample_rate in Hz, window in samples), computed once per process."""
    n_bins = window // 2
    bin_hz = (np.arange(1, n_bins + 1)) * (sample_rate / (2.0 * n_bins))
    moments = np.stack([np.ones(n_bins), bin_hz, bin_hz**2], axis=1)
    filterbank = mel_filterbank(sample_rate, n_bins)
    nonzero_bins = np.flatnonzero(filterbank.any(axis=0))
    mel_bins = int(nonzero_bins[-1]) + 1 if nonzero_bins.size else 1
    filterbank_t = np.ascontiguousarray(filterbank[:, :mel_bins].T)
    return SpectralTables(
        sample_rate=sample_rate,
        window=window,
        n_bins=n_bins,
        bin_hz=_frozen(bin_hz),
        centroid_moments=_frozen(np.ascontiguousarray(moments)),
        mel_filterbank_t=_frozen(filterbank_t),
        mel_bins=mel_bins,
        mel_segments=mel_segments(filterbank_t),
        dct_t=_frozen(np.ascontiguousarray(dct_ii_orthonormal(filterbank.shape[0], N_MFCC).T)),
        chroma=chroma_map(sample_rate, n_bins),
    )
