"""Benchmark of the paper's methods: seconds per BLSTM epoch against the floating-point work an
epoch needs, as a share of what this CPU does on a large matrix product, and a projection of the
whole ``paper`` protocol (all methods, 5 folds) on a corpus of IEMOCAP's size.

    nice -n 10 .venv/bin/python scripts/bench_methods.py [--threads 1] [--epochs 2]
    nice -n 10 .venv/bin/python scripts/bench_methods.py --corpora iemocap --full-protocol --jobs 2 --threads 1

Random arrays stand in for features (the work does not depend on the values). Everything is
measured in one run, so the ratios hold even on a busy machine where absolute seconds do not.
Prints a report; ``--json PATH`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models_app.ser.config import ExperimentConfig, preset
from models_app.ser.dataset import Dataset
from models_app.ser.decoding import prefix_beam_search
from models_app.ser.experiment import run_experiment
from models_app.ser.registry import METHOD_NAMES, build_estimator

N_FEATURES = 34
N_CLASSES = 4
TRAIN_SHARE = 0.8  # 5 folds: each model trains on 4/5 of the corpus and tests on 1/5


def corpus_lengths(name: str, rng: np.random.Generator) -> np.ndarray:
    """Frame counts of a corpus: EmoDB's copy here (339 utterances of 12-17 frames, all 2 s long)
    or IEMOCAP's size (4936 utterances, ~200,000 frames; lengths log-normal like speech turns)."""
    if name == "emodb":
        return rng.integers(12, 18, size=339)
    lengths = np.clip(np.round(rng.lognormal(mean=3.5, sigma=0.6, size=4936)), 3, 400).astype(int)
    return np.round(lengths * 200_000 / lengths.sum()).astype(int).clip(3)


def lstm_flops_per_step(n_in: int, hidden: int) -> int:
    """Forward multiply-adds of one LSTM direction for one time step, as FLOPs (2 per MAC):
    four gates of W_ih x + W_hh h, plus ~10 elementwise operations per unit (gates, cell, output)."""
    return 2 * 4 * hidden * (n_in + hidden) + 10 * hidden


def epoch_flops(method: str, config: ExperimentConfig, lengths: np.ndarray) -> float:
    """FLOPs of one training epoch (forward + backward ~ 3 x forward) over utterances of these lengths."""
    network = config.network
    seen = np.minimum(lengths, network.pad_frames) if network.pad_frames else lengths
    steps = len(lengths) * network.pad_frames if network.pad_frames else int(seen.sum())  # padding costs too
    hidden, layers = network.hidden_units, network.n_layers
    lstm = 2 * lstm_flops_per_step(N_FEATURES, hidden)  # both directions of layer 1
    lstm += (layers - 1) * 2 * lstm_flops_per_step(2 * hidden, hidden)
    forward = steps * lstm
    dense = 2 * (2 * hidden * network.dense_units + network.dense_units * (N_CLASSES + (method == "ctc")))
    forward += dense * (steps if method == "ctc" else len(lengths))
    return 3.0 * forward


def matmul_gflops(n_threads: int, size: int = 1024, repeats: int = 20) -> float:
    """What this CPU does on a large float32 matrix product, GFLOP/s, with ``n_threads`` threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        a @ b  # warm-up
        started = time.perf_counter()
        for _ in range(repeats):
            a @ b
        return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9
    finally:
        torch.set_num_threads(previous)


def random_corpus(lengths: np.ndarray, rng: np.random.Generator):
    X = [rng.normal(size=(n, N_FEATURES)).astype(np.float32) for n in lengths]
    for x in X:
        x[:, 1] = np.abs(x[:, 1])  # energy is positive
    y = np.arange(len(lengths)) % N_CLASSES
    return X, y


def time_epochs(method: str, config: ExperimentConfig, X, y, epochs: int) -> float:
    """Median training seconds per epoch (epoch 1 excluded when there are more: warm-up)."""
    estimator = build_estimator(method, replace(config, training=replace(config.training, epochs=epochs + 1)))
    estimator.fit(X, y)
    return float(np.median([record["seconds"] for record in estimator.history_[1:]]))


def time_call(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def bench_corpus(name: str, config: ExperimentConfig, epochs: int, peak: float, rng) -> dict:
    lengths = corpus_lengths(name, rng)
    n_train = int(round(TRAIN_SHARE * len(lengths)))
    X, y = random_corpus(lengths, rng)
    X_train, y_train = X[:n_train], y[:n_train]
    X_test = X[n_train:]
    report = {"utterances": len(lengths), "frames": int(lengths.sum()), "train_utterances": n_train, "methods": {}}
    for method in ("onelabel", "ctc"):
        seconds = time_epochs(method, config, X_train, y_train, epochs)
        flops = epoch_flops(method, config, lengths[:n_train])
        report["methods"][method] = {
            "seconds_per_epoch": seconds,
            "gflop_per_epoch": flops / 1e9,
            "achieved_gflops": flops / seconds / 1e9,
            "share_of_matmul_peak": flops / seconds / 1e9 / peak,
        }
    # The rest of one fold: forests fitted on the training part, predictions and CTC decoding
    # of the test part (beam search on probability matrices of the test lengths).
    framewise = build_estimator("framewise", config)
    stats = build_estimator("utterance_stats", config)
    report["framewise_fold_seconds"] = time_call(lambda: framewise.fit(X_train, y_train).predict(X_test))
    report["utterance_stats_fold_seconds"] = time_call(lambda: stats.fit(X_train, y_train).predict(X_test))
    sample = X_test[:100]
    probabilities = [rng.dirichlet(np.ones(N_CLASSES + 1), size=len(x)) for x in sample]
    beam = time_call(lambda: [prefix_beam_search(p, N_CLASSES, config.ctc.beam_width) for p in probabilities])
    report["beam_search_seconds_per_utterance"] = beam / len(sample)
    epochs_per_fold = config.training.epochs
    per_fold = (
        epochs_per_fold * sum(m["seconds_per_epoch"] for m in report["methods"].values())
        + report["framewise_fold_seconds"]
        + report["utterance_stats_fold_seconds"]
        + report["beam_search_seconds_per_utterance"] * len(X_test)
    )
    report["projected_protocol_seconds"] = 5 * per_fold
    return report


def print_progress(started: float):
    """A progress callback for the hour-long full run: one line per fold start and every 10th epoch,
    with the elapsed minutes, on standard error (the report stays on standard output)."""

    def report(event) -> None:
        epoch = event.detail.get("epoch")
        if event.done == 0 or (epoch is not None and epoch % 10 == 0):
            minutes = (time.perf_counter() - started) / 60
            where = f"{event.stage} fold {event.detail.get('fold')}"
            print(f"[{minutes:6.1f} min] {where}" + (f" epoch {epoch}" if epoch else ""), file=sys.stderr, flush=True)

    return report


def run_full_protocol(config: ExperimentConfig, rng: np.random.Generator, n_jobs: int) -> dict:
    """Run the whole protocol (all methods, 5 folds) on a random IEMOCAP-size corpus: 10 speakers
    in 5 sessions, as IEMOCAP; ``n_jobs`` (method, fold) units at once. Returns wall seconds, and
    per method the seconds its units took (summed over folds, so with n_jobs > 1 they add up to
    more than the wall time)."""
    lengths = corpus_lengths("iemocap", rng)
    X, y = random_corpus(lengths, rng)
    speakers = np.array([f"spk{i % 10}" for i in range(len(X))])
    sessions = np.array([f"Ses{i % 10 // 2 + 1}" for i in range(len(X))])
    dataset = Dataset(np.arange(len(X)), X, y, sessions, speakers, ["ang", "exc", "neu", "sad"])
    started = time.perf_counter()
    progress = print_progress(started)
    result = run_experiment(dataset, list(METHOD_NAMES), config, n_folds=5, seed=0, progress=progress, n_jobs=n_jobs)
    seconds = {m: sum(r.seconds for r in result.fold_results if r.method == m) for m in METHOD_NAMES}
    wall = time.perf_counter() - started
    return {"wall_seconds": wall, "n_jobs": n_jobs, "threads_per_job": config.n_threads, "seconds_per_method": seconds}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads and forest jobs (default 1)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed per network after one warm-up epoch")
    parser.add_argument("--preset", default="paper", help="experiment preset to time (default paper)")
    parser.add_argument("--corpora", default="emodb,iemocap", help="emodb, iemocap or both")
    parser.add_argument("--json", default="", help="also write the numbers here")
    parser.add_argument(
        "--jobs", type=int, default=1, help="(method, fold) units at once in the full run, each with --threads threads"
    )
    parser.add_argument(
        "--full-protocol", action="store_true", help="also run the whole protocol on the IEMOCAP-size corpus (long)"
    )
    args = parser.parse_args(argv)

    config = replace(preset(args.preset), n_threads=args.threads)
    rng = np.random.default_rng(0)
    peak = matmul_gflops(args.threads)
    results = {"preset": args.preset, "threads": args.threads, "matmul_gflops": peak, "corpora": {}}
    print(f"preset {args.preset}, {args.threads} thread(s); torch {torch.__version__}")
    print(f"matrix product (1024 x 1024, float32): {peak:.1f} GFLOP/s")
    for name in args.corpora.split(","):
        report = bench_corpus(name, config, args.epochs, peak, rng)
        results["corpora"][name] = report
        print(
            f"\n{name}-size: {report['utterances']} utterances, {report['frames']} frames; "
            f"{report['train_utterances']} train per fold"
        )
        for method, m in report["methods"].items():
            print(
                f"  {method:<9} {m['seconds_per_epoch']:7.2f} s/epoch  {m['gflop_per_epoch']:8.1f} GFLOP/epoch  "
                f"{m['achieved_gflops']:6.1f} GFLOP/s = "
                f"{100 * m['share_of_matmul_peak']:5.1f}% of the matrix-product rate"
            )
        print(
            f"  framewise forest, one fold: {report['framewise_fold_seconds']:.1f} s; "
            f"statistics forest: {report['utterance_stats_fold_seconds']:.1f} s; "
            f"beam search: {1000 * report['beam_search_seconds_per_utterance']:.1f} ms/utterance"
        )
        minutes = report["projected_protocol_seconds"] / 60
        print(f"  projected {args.preset} protocol (5 folds, all methods): {minutes:.1f} min (a projection, not a run)")
    if args.full_protocol:
        full = run_full_protocol(config, rng, args.jobs)
        results["full_protocol"] = full
        per_method = ", ".join(f"{m} {s / 60:.1f}" for m, s in full["seconds_per_method"].items())
        print(
            f"\nfull {args.preset} protocol run on the IEMOCAP-size corpus, {args.jobs} unit(s) at once "
            f"x {args.threads} thread(s): {full['wall_seconds'] / 60:.1f} min wall "
            f"(unit minutes per method: {per_method})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
