"""Benchmark of the emotion timeline on one core: a 10 s clip (goal: under 100 ms) and a
10-minute recording (goal: under 5 s), with the model already loaded.

    nice -n 10 .venv/bin/python scripts/bench_timeline.py [--model CHECKPOINT] [--repeats 5]

Without ``--model``, a CTC network of the paper's size (2 x 64 BLSTM, Dense 512, 5 outputs) is
trained for one epoch on random sequences: timing does not depend on the weights. The recordings
are synthetic: noise bursts of speech-like length with pauses (so the frame selection has silence
to drop), at 16 kHz mono, plus the 10-minute one as a 44.1 kHz stereo FLAC file read the way an
upload is (block-wise decoding and resampling). Prints the median of the repeats, and the share
of the time spent in features, the network, the windows' CTC decoding and segment forming.
"""

from __future__ import annotations

import os

# One core: BLAS and OpenMP pools are sized when numpy and torch load, so set them first.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models_app.ser.features import FEATURE_PRESETS
from models_app.ser.methods import CTCBLSTM
from models_app.ser.persistence import load_estimator
from models_app.ser.timeline import (
    TimelineConfig,
    emotion_timeline,
    form_segments,
    plan_windows,
    recording_features,
    windowed_probabilities,
)
from models_app.ser.timeline_audio import read_mono

GOALS_S = {"10 s clip": 0.1, "10 min recording": 5.0}


def paper_sized_model(seed: int = 0) -> CTCBLSTM:
    """The paper's CTC network (CTCBLSTM's defaults), one epoch on random data."""
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(78, 34)).astype(np.float32) for _ in range(128)]
    y = np.array(["anger", "excitement", "neutral", "sadness"] * 32)
    return CTCBLSTM(epochs=1, random_state=seed, n_threads=1).fit(X, y)


def speech_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Noise in bursts of 0.3-3 s separated by 0.1-0.8 s of near silence, float32 (n,)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    envelope = np.zeros(n, dtype=np.float32)
    position = 0
    while position < n:
        burst = int(rng.uniform(0.3, 3.0) * rate)
        envelope[position : position + burst] = rng.uniform(0.1, 0.6)
        position += burst + int(rng.uniform(0.1, 0.8) * rate)
    return (
        envelope * rng.standard_normal(n).astype(np.float32) + 1e-4 * rng.standard_normal(n).astype(np.float32)
    ).clip(-1, 1)


def timed(function, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def bench(name: str, model, samples: np.ndarray, rate: int, feature_config, repeats: int) -> None:
    config = TimelineConfig()
    emotion_timeline(model, samples, rate, feature_config=feature_config, config=config)  # warm caches and tables
    total, timeline = timed(
        lambda: emotion_timeline(model, samples, rate, feature_config=feature_config, config=config), repeats
    )
    features_s, features = timed(lambda: recording_features(samples, rate, feature_config), repeats)
    windowed_s, _ = timed(
        lambda: windowed_probabilities(
            model,
            features.matrix,
            window_frames=config.window_frames,
            hop_frames=config.hop_frames,
            windows_per_batch=config.windows_per_batch,
        ),
        repeats,
    )
    # The network alone, on the same windows and batches; the rest of windowed_probabilities is
    # the windows' CTC decoding (forward algorithm) and their weighted sum.
    starts = plan_windows(len(features.matrix), config.window_frames, config.hop_frames)
    length = min(config.window_frames, len(features.matrix))
    batches = [starts[i : i + config.windows_per_batch] for i in range(0, len(starts), config.windows_per_batch)]
    network_s, _ = timed(
        lambda: [model.predict_frame_proba([features.matrix[s : s + length] for s in batch]) for batch in batches],
        repeats,
    )
    decoding_s = max(windowed_s - network_s, 0.0)
    segments_s, _ = timed(
        lambda: form_segments(
            timeline.probabilities,
            timeline.scored,
            classes=timeline.classes,
            frame_step_s=timeline.frame_step_s,
            window_s=timeline.window_s,
            duration_s=timeline.duration_s,
            max_pause_s=config.max_pause_s,
        ),
        repeats,
    )
    parts = features_s + network_s + decoding_s + segments_s
    goal = GOALS_S.get(name)
    verdict = "" if goal is None else (f"  goal < {goal * 1000:.0f} ms: " + ("met" if total < goal else "MISSED"))
    print(
        f"{name:<34} {total * 1000:9.1f} ms total{verdict}\n"
        f"{'':<34} features {features_s * 1000:8.1f} ms ({100 * features_s / parts:4.1f}%), "
        f"network {network_s * 1000:8.1f} ms ({100 * network_s / parts:4.1f}%), "
        f"window decoding {decoding_s * 1000:6.1f} ms ({100 * decoding_s / parts:4.1f}%), "
        f"segments {segments_s * 1000:5.1f} ms ({100 * segments_s / parts:4.1f}%); "
        f"{timeline.n_frames} frames, {len(features.kept_index)} scored, {len(timeline.segments)} segments"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", type=Path, help="a CTC checkpoint (models_app.ser.persistence); default: a paper-sized network"
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)

    with threadpool_limits(1):
        if args.model:
            model, metadata = load_estimator(args.model)
            feature_config = FEATURE_PRESETS.get(metadata.get("feature_preset") or "paper", FEATURE_PRESETS["paper"])
            origin = f"{args.model} ({metadata['method']}, classes {metadata['classes']})"
        else:
            started = time.perf_counter()
            model = paper_sized_model()
            feature_config = FEATURE_PRESETS["paper"]
            origin = f"paper-sized CTC, one epoch on random data ({time.perf_counter() - started:.1f} s to train)"
        n_parameters = sum(p.numel() for p in model.network_.parameters())
        print(f"model: {origin}; {n_parameters:,} parameters; torch threads {torch.get_num_threads()}")
        print(f"timeline config: {TimelineConfig()}\nmedian of {args.repeats} runs, one core\n")

        bench("10 s clip", model, speech_like(10, 16000, seed=1), 16000, feature_config, args.repeats)
        bench(
            "10 min recording", model, speech_like(600, 16000, seed=2), 16000, feature_config, max(1, args.repeats // 2)
        )

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ten-minutes.flac"
            stereo = np.stack([speech_like(600, 44100, seed=3), speech_like(600, 44100, seed=4)], axis=1)
            soundfile.write(str(path), stereo, 44100, format="FLAC")
            del stereo
            decode_s, signal = timed(lambda: read_mono(path, target_rate=16000), 1)
            print(f"\ndecoding a 10 min 44.1 kHz stereo FLAC to 16 kHz mono (block-wise): {decode_s * 1000:.0f} ms")
            bench("10 min recording, from that file", model, signal, 16000, feature_config, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
