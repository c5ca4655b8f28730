"""Small PyTorch helpers shared by the BLSTM methods: devices, reproducible sessions and batching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


class DeviceUnavailable(ValueError):
    """The configured device does not exist on this machine (the message says what torch sees)."""


def resolve_device(name: str) -> torch.device:
    """The torch device for a config's ``device``: ``auto`` is the first CUDA GPU when torch sees
    one and the CPU otherwise; ``cpu``, ``cuda`` and ``cuda:N`` are taken as they are, but a CUDA
    device that is not there is an error rather than a silent fall back to the CPU (a GPU worker
    that lost its GPU should say so, not train for an hour on the CPU)."""
    if name == "auto":
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceUnavailable(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu":
        return device
    if device.type != "cuda":
        raise DeviceUnavailable(f"unknown device {name!r}; choose auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise DeviceUnavailable(f"device {name!r} asked for, but torch sees no CUDA GPU on this machine")
    index = device.index if device.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise DeviceUnavailable(f"device {name!r} asked for, but torch sees {torch.cuda.device_count()} GPU(s)")
    return torch.device("cuda", index)


@contextmanager
def torch_session(seed: int, n_threads: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block deterministically: its own seeded torch RNG (the caller's RNG state is
    restored afterwards), deterministic algorithms, and ``n_threads`` intra-op threads.

    On the CPU the same seed and thread count give bit-identical results; a different thread
    count may change the order of floating-point sums and so the last digits. On a GPU the RNG
    of that GPU is seeded too, but some CUDA kernels (the CTC loss's backward) have no
    deterministic version: torch then warns instead of failing, and runs differ in the last digits.
    """
    if n_threads < 1:
        raise ValueError("n_threads must be at least 1")
    device = device or torch.device("cpu")
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(n_threads)
    torch.use_deterministic_algorithms(True, warn_only=device.type == "cuda")
    gpus = [device.index] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=gpus):
            torch.manual_seed(seed)  # seeds every device's generator
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic, warn_only=previous_warn_only)


def pad_sequences(sequences: list[np.ndarray], length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut or zero-pad at the end to ``length`` frames.

    sequences: list of (n_i, F) float32. Returns x (B, length, F) and the kept lengths (B,)
    int64 (min(n_i, length)).
    """
    n_features = sequences[0].shape[1]
    batch = np.zeros((len(sequences), length, n_features), dtype=np.float32)
    lengths = np.empty(len(sequences), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        kept = min(len(sequence), length)
        batch[row, :kept] = sequence[:kept]
        lengths[row] = kept
    return torch.from_numpy(batch), torch.from_numpy(lengths)


def resolve_seed(random_state) -> int:
    """An int seed from scikit-learn's ``random_state`` (None = fresh randomness)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    return int(random_state)
