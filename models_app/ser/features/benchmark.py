"""Measurements behind docs/features.md: our extractor against pyAudioAnalysis on the same audio,
and the candidate on-disk layouts for a set's matrices. Timings use one thread (BLAS limited to
one; numpy's FFT and scipy.fftpack's are single-threaded) so the comparison is one core against
one core."""

from __future__ import annotations

import os
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

from models_app.ser.audio import normalise
from models_app.ser.feature_store import PackedStore, UtteranceFeatures, pack_shards, read_shard, write_shard
from models_app.ser.features.config import FEATURE_NAMES, FEATURE_PRESETS, N_FEATURES
from models_app.ser.features.extractor import FFT_BATCH, extract

# Relative deviations are taken against max(|reference|, this): below it a value is float64
# rounding noise (e.g. chroma bins of a pure tone at 1e-30), and its absolute deviation is what counts.
RELATIVE_FLOOR = 1e-12
SHORT_RUNS = 5  # runs of our extractor and of the FFTs per round of the benchmark


@dataclass(frozen=True)
class ExtractorBenchmark:
    audio_seconds: float
    n_frames: int
    reference_s: float  # pyAudioAnalysis, median of its runs (one per round)
    ours_s: float  # our extractor (normalisation, framing, 34 features, float32 result), median of its runs
    fft_s: float  # the batched real FFTs of all frames alone, median of its runs
    speedup: float  # reference_s / ours_s
    realtime_factor: float  # audio_seconds / ours_s
    fft_share: float  # ours_s / fft_s: how many FFT-times the whole extractor takes (1.0 = the floor)
    max_abs_dev: float
    max_rel_dev: float  # max |ours - ref| / max(|ref|, RELATIVE_FLOOR)
    worst_feature: str  # where max_rel_dev occurs
    repeats: int  # rounds; each runs the reference once and ours and the FFTs SHORT_RUNS times

    def to_dict(self) -> dict:
        return asdict(self)


def _median_time(function: Callable[[], object], repeats: int) -> tuple[float, object]:
    """(median seconds over ``repeats`` calls, the last call's result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def speech_like_signal(seconds: float, sample_rate: int = 16000, seed: int = 0) -> np.ndarray:
    """A stand-in for speech when no synthesizer is at hand: voiced syllables (a harmonic source
    with drifting pitch shaped by two resonances) and noisy consonants at ~4 syllables per second,
    with pauses. Shape (n,), float64, peak ~1. Deterministic for a seed."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    pitch_hz = (
        140
        + 40 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.3))
        + 15 * rng.standard_normal(n // 1600 + 2).repeat(1600)[:n]
    )
    phase = 2 * np.pi * np.cumsum(pitch_hz) / sample_rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 25))
    syllable = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6.3)), 0, None) ** 2
    pauses = (rng.random(n // sample_rate + 2) > 0.2).repeat(sample_rate)[:n]
    noise = rng.standard_normal(n) * (rng.random(n // 800 + 2) > 0.7).repeat(800)[:n]
    signal = (voiced * syllable + 0.3 * noise * (1 - syllable)) * pauses + 0.002 * rng.standard_normal(n)
    return signal / np.abs(signal).max()


def benchmark_extractor(signal: np.ndarray, sample_rate: int = 16000, *, repeats: int = 3) -> ExtractorBenchmark:
    """Time pyAudioAnalysis's feature_extraction and ours on the same mono ``signal`` at
    ``sample_rate`` (16 kHz: the paper's 200/100 ms frames are 3200/1600 samples), all frames kept.

    Both get the same decoded signal and normalise it themselves, identically (the reference
    in int16 units, as it expects); both timings include that normalisation.
    """
    from pyAudioAnalysis import ShortTermFeatures

    config = FEATURE_PRESETS["full"]
    window, step = config.window_samples, config.step_samples
    prepared = np.asarray(signal, dtype=np.float64)
    if prepared.ndim != 1:
        raise ValueError(f"expected a mono signal of shape (n,), got {prepared.shape}")
    frames = sliding_window_view(normalise(prepared), window)[::step]  # what the FFTs see

    in_int16_units = prepared * 2**15  # what the reference expects; made once, outside its timing

    def reference_run() -> np.ndarray:
        return ShortTermFeatures.feature_extraction(in_int16_units, sample_rate, window, step, deltas=False)[0].T

    def our_run() -> np.ndarray:
        return extract(prepared, sample_rate, config).matrix

    def fft_only() -> None:
        for start in range(0, frames.shape[0], FFT_BATCH):
            np.fft.rfft(frames[start : start + FFT_BATCH], axis=1)

    timings: dict[str, list[float]] = {"reference": [], "ours": [], "fft": []}
    with threadpool_limits(limits=1):
        extract(prepared[: 10 * window], sample_rate, config)  # warm the cached tables and FFT plans
        # Runs alternate (reference, ours, FFT, reference, ...) so that a change in the machine's
        # load during the benchmark falls on all three alike. Ours and the FFTs take a fraction
        # of a second, so a moment's load from elsewhere moves them far more than the reference's
        # seconds: they run SHORT_RUNS times per round, and the medians use every run.
        for _ in range(repeats):
            for name, function, runs in (
                ("reference", reference_run, 1),
                ("ours", our_run, SHORT_RUNS),
                ("fft", fft_only, SHORT_RUNS),
            ):
                for _ in range(runs):
                    start = time.perf_counter()
                    result = function()
                    timings[name].append(time.perf_counter() - start)
                if name == "reference":
                    reference = result
                elif name == "ours":
                    ours = result
    reference_s, ours_s, fft_s = (statistics.median(timings[k]) for k in ("reference", "ours", "fft"))
    deviation = np.abs(ours.astype(np.float64) - reference)
    relative = deviation / np.maximum(np.abs(reference), RELATIVE_FLOOR)
    worst = np.unravel_index(int(np.argmax(relative)), relative.shape) if relative.size else (0, 0)
    audio_seconds = prepared.size / sample_rate
    return ExtractorBenchmark(
        audio_seconds=audio_seconds,
        n_frames=int(ours.shape[0]),
        reference_s=reference_s,
        ours_s=ours_s,
        fft_s=fft_s,
        speedup=reference_s / ours_s,
        realtime_factor=audio_seconds / ours_s,
        fft_share=ours_s / fft_s,
        max_abs_dev=float(deviation.max()) if deviation.size else 0.0,
        max_rel_dev=float(relative.max()) if relative.size else 0.0,
        worst_feature=FEATURE_NAMES[worst[1]],
        repeats=repeats,
    )


# --- storage layouts --------------------------------------------------------------------------


@dataclass(frozen=True)
class LayoutTiming:
    layout: str
    n_files: int
    bytes_on_disk: int
    write_s: float
    read_all_cold_s: float  # after asking the kernel to drop these files from its page cache
    read_all_warm_s: float


def synthetic_matrices(n_utterances: int = 4936, n_frames_total: int = 200_000, seed: int = 0) -> dict[int, np.ndarray]:
    """Random (n_frames, 34) float32 matrices with IEMOCAP-like lengths (log-normal, ~40 frames
    on average) summing to about ``n_frames_total`` frames."""
    rng = np.random.default_rng(seed)
    lengths = rng.lognormal(mean=0.0, sigma=0.6, size=n_utterances)
    lengths = np.maximum(1, np.round(lengths / lengths.sum() * n_frames_total)).astype(int)
    return {
        i + 1: rng.standard_normal((int(length), N_FEATURES)).astype(np.float32) for i, length in enumerate(lengths)
    }


def _evict(folder: Path) -> None:
    """Ask the kernel to forget the cached pages of our own files (no effect on anyone else's)."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as file:
                os.fsync(file.fileno())
                if hasattr(os, "posix_fadvise"):
                    os.posix_fadvise(file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


def _disk_usage(folder: Path) -> tuple[int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def benchmark_layouts(matrices: dict[int, np.ndarray], folder: Path, *, chunk_size: int = 250) -> list[LayoutTiming]:
    """Write and read back ``matrices`` in each candidate layout under ``folder`` (emptied first):

    - ``npy-per-utterance``: one .npy file per utterance;
    - ``shards``: one .npz per chunk of ``chunk_size`` utterances (what extraction tasks write);
    - ``packed-memmap``: shards packed into one array + index (the store), read memory-mapped.
    """
    folder = Path(folder)
    shutil.rmtree(folder, ignore_errors=True)
    ids = sorted(matrices)
    results = []

    per_file = folder / "npy-per-utterance"
    per_file.mkdir(parents=True)

    def write_per_file() -> None:
        for pk in ids:
            np.save(per_file / f"{pk}.npy", matrices[pk])

    def read_per_file() -> dict:
        return {pk: np.load(per_file / f"{pk}.npy") for pk in ids}

    shards = folder / "shards"
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]

    def results_of(chunk: list[int]) -> list[UtteranceFeatures]:
        return [
            UtteranceFeatures(pk, matrices[pk], np.arange(matrices[pk].shape[0]), matrices[pk].shape[0]) for pk in chunk
        ]

    def write_shards() -> None:
        for n, chunk in enumerate(chunks):
            write_shard(shards, f"chunk{n}", results_of(chunk))

    def read_shards() -> dict:
        out = {}
        for n in range(len(chunks)):
            shard = read_shard(shards, f"chunk{n}")
            offsets = np.concatenate(([0], np.cumsum(shard.lengths)))
            for j, pk in enumerate(shard.utterance_ids.tolist()):
                out[pk] = shard.features[offsets[j] : offsets[j + 1]]
        return out

    packed = folder / "packed"

    def write_packed() -> None:
        for n, chunk in enumerate(chunks):
            write_shard(packed, f"chunk{n}", results_of(chunk))
        pack_shards(packed, [f"chunk{n}" for n in range(len(chunks))])

    def read_packed() -> dict:
        return PackedStore(packed).matrices()

    for name, location, write, read in (
        ("npy-per-utterance", per_file, write_per_file, read_per_file),
        ("shards", shards, write_shards, read_shards),
        ("packed-memmap", packed, write_packed, read_packed),
    ):
        start = time.perf_counter()
        write()
        write_s = time.perf_counter() - start
        _evict(location)
        start = time.perf_counter()
        loaded = read()
        cold_s = time.perf_counter() - start
        warm_s, loaded = _median_time(read, 3)
        if len(loaded) != len(ids) or any(
            not np.array_equal(loaded[pk], matrices[pk]) for pk in ids[:: max(1, len(ids) // 50)]
        ):
            raise AssertionError(f"layout {name} did not read back what was written")
        n_files, n_bytes = _disk_usage(location)
        results.append(LayoutTiming(name, n_files, n_bytes, write_s, cold_s, warm_s))
    shutil.rmtree(folder, ignore_errors=True)
    return results
