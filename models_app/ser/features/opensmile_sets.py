"""The field's standard descriptor sets (openSMILE's eGeMAPSv02 and ComParE 2016) on the paper's frames.

openSMILE computes its low-level descriptors (LLDs) every 10 ms (over 20 ms windows for
eGeMAPS's spectral LLDs and 60 ms for its pitch and voice-quality ones; 20 or 60 ms for
ComParE's). Every method here reads one vector per 200 ms frame every 100 ms, the paper's grid,
so the LLDs are pooled into that grid:

- paper frame i covers [i * step, i * step + window) seconds (features/extractor.py);
- an LLD frame belongs to paper frame i when its centre lies inside that span, so each paper
  frame pools about 20 LLD frames and neighbouring paper frames share half of them, as their
  samples do;
- the paper frame's vector is the mean of each LLD over its LLD frames, then their standard
  deviation: the mean keeps the level the 200 ms frame would have had, the deviation keeps what
  a 10 ms descriptor sees and a 200 ms one averages away (pitch movement, jitter bursts). These
  are the two functionals the field applies first (eGeMAPS's own "amean" and "stddevNorm").

Which frames are kept is decided exactly as for the paper's set (the pyAudioAnalysis energy of
the normalised 200 ms frame against ``min_energy``, first and last frame dropped), so every set
describes the same frames of the same utterances and a comparison between sets compares only
the descriptors.

openSMILE receives the utterance as decoded (mono, at the feature rate, not peak-normalised):
its loudness and energy descriptors are calibrated for that, and it is what its own
``process_file`` reads, which the tests compare against.

openSMILE is imported when the first utterance is processed: the web process, which only reads
set names and column names (features/columns.py), never loads it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from models_app.ser.features.columns import LLD_NAMES, N_EGEMAPS_FUNCTIONALS

# openSMILE's feature sets behind our names.
_OPENSMILE_SETS = {"egemaps": "eGeMAPSv02", "compare": "ComParE_2016"}


@lru_cache(maxsize=8)
def _smile(feature_set: str, functionals: bool):
    """One openSMILE extractor per (set, level) and process: building one parses its config files."""
    import opensmile

    return opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, _OPENSMILE_SETS[feature_set]),
        feature_level=opensmile.FeatureLevel.Functionals if functionals else opensmile.FeatureLevel.LowLevelDescriptors,
    )


def lld_frames(signal: np.ndarray, sample_rate: int, feature_set: str) -> tuple[np.ndarray, np.ndarray]:
    """openSMILE's LLDs of a mono signal: ((m, n_lld) float64, (m,) centre of each LLD frame in s)."""
    smile = _smile(feature_set, False)
    table = smile.process_signal(np.asarray(signal, dtype=np.float32), int(sample_rate))
    if list(table.columns) != list(LLD_NAMES[feature_set]):
        raise RuntimeError(f"openSMILE's {feature_set} columns differ from the ones this code was written for")
    starts = table.index.get_level_values("start").total_seconds().to_numpy()
    ends = table.index.get_level_values("end").total_seconds().to_numpy()
    return table.to_numpy(dtype=np.float64), (starts + ends) / 2


def pool_to_frames(
    values: np.ndarray, centres: np.ndarray, n_frames: int, window_s: float, step_s: float
) -> np.ndarray:
    """(n_frames, 2 * n_lld): per paper frame, the mean then the standard deviation of each LLD over
    the LLD frames whose centre lies in [i * step_s, i * step_s + window_s).

    A paper frame without any LLD centre inside it (openSMILE stops a few ms before the end of
    some signals) takes the LLD frame nearest to its centre, with zero deviation. NaN from
    openSMILE (none seen on speech, silence or noise of at least one frame) would stop every
    method, so it is an error here, naming the frame.
    """
    n_lld = values.shape[1]
    out = np.empty((n_frames, 2 * n_lld))
    if n_frames == 0:
        return out
    if values.shape[0] == 0:
        raise ValueError("openSMILE returned no LLD frames for a signal of at least one frame")
    # Rounded to the microsecond so that a centre exactly on a frame edge falls on one side on every machine.
    centres = np.round(centres, 6)
    starts = np.round(np.arange(n_frames) * step_s, 6)
    first = np.searchsorted(centres, starts, side="left")
    last = np.searchsorted(centres, np.round(starts + window_s, 6), side="left")
    for i in range(n_frames):
        block = values[first[i] : last[i]]
        if block.shape[0] == 0:
            nearest = int(np.argmin(np.abs(centres - (starts[i] + window_s / 2))))
            block = values[nearest : nearest + 1]
        out[i, :n_lld] = block.mean(axis=0)
        out[i, n_lld:] = block.std(axis=0)
    if not np.all(np.isfinite(out)):
        frame = int(np.flatnonzero(~np.all(np.isfinite(out), axis=1))[0])
        raise ValueError(f"openSMILE gave NaN or infinite descriptors in frame {frame}")
    return out


def frame_descriptors(
    signal: np.ndarray, sample_rate: int, feature_set: str, n_frames: int, window_s: float, step_s: float
) -> np.ndarray:
    """(n_frames, 2 * n_lld) float64: ``feature_set``'s LLDs pooled onto the paper's frames."""
    if n_frames == 0:
        return np.empty((0, 2 * len(LLD_NAMES[feature_set])))
    values, centres = lld_frames(signal, sample_rate, feature_set)
    return pool_to_frames(values, centres, n_frames, window_s, step_s)


def egemaps_functionals(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """(88,) float64: eGeMAPSv02's functionals of the whole utterance.

    openSMILE leaves a functional undefined (NaN) when there is nothing to measure, e.g. the
    slopes of the rising F0 segments of an utterance with no voiced frame; it is stored as 0, the
    value the field's toolkits substitute, so that a forest can still use the other 87."""
    smile = _smile("egemaps", True)
    table = smile.process_signal(np.asarray(signal, dtype=np.float32), int(sample_rate))
    values = table.to_numpy(dtype=np.float64)[0]
    if values.shape != (N_EGEMAPS_FUNCTIONALS,):
        raise RuntimeError(f"openSMILE gave {values.shape} eGeMAPSv02 functionals, expected {N_EGEMAPS_FUNCTIONALS}")
    return np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
