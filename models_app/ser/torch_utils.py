"""Small PyTorch helpers shared by the BLSTM methods: reproducible sessions and batching."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def torch_session(seed: int, n_threads: int) -> Iterator[None]:
    """Run a block deterministically on the CPU: its own seeded torch RNG (the caller's RNG state is
    restored afterwards), deterministic algorithms, and ``n_threads`` intra-op threads.

    The same seed and thread count give bit-identical results; a different thread count may change
    the order of floating-point sums and so the last digits.
    """
    if n_threads < 1:
        raise ValueError("n_threads must be at least 1")
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(n_threads)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic)


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
