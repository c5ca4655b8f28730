"""On-disk store of a feature set's per-utterance matrices (no Django here).

Layout of one set's folder (chosen by measurement, docs/features.md):

- while extracting, one *shard* per chunk of utterances: ``shards/<key>.npz`` holding the chunk's
  matrices back to back, written to a temporary name and renamed, so a shard is either complete
  or absent and a repeated chunk rewrites the same bytes;
- when every chunk is done, the shards are packed into one contiguous array per set plus an
  index, each written to a temporary name and renamed, ``index.npy`` last:

  ``features.npy``     (n_frames_total, F) float32, every kept frame of every utterance in order
                       (F: 34 for the paper's set, the set's own count for the others)
  ``frame_index.npy``  (n_frames_total,) int32, each row's frame number within its utterance
  ``utterance_vectors.npy`` (n_utterances, V) float32, only for sets with per-utterance
                       descriptors (eGeMAPS's 88 functionals), rows in the index's order
  ``index.npy``        (n_utterances, 3) int64 rows of (utterance id, first row, n_frames)

Each set has its own folder (named by its configuration's hash), so the sets are cached apart.

Readers memory-map the arrays and slice them: loading the whole of an IEMOCAP-size set is one
sequential read instead of thousands of file opens.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models_app.ser.features.config import N_FEATURES

FEATURES_FILE = "features.npy"
FRAME_INDEX_FILE = "frame_index.npy"
VECTORS_FILE = "utterance_vectors.npy"
INDEX_FILE = "index.npy"  # written last: its presence means the packed store is complete
SHARD_DIR = "shards"


class FeatureStoreError(Exception):
    """The store on disk is missing, incomplete or inconsistent (the message says which file)."""


@dataclass
class UtteranceFeatures:
    """One utterance's result: its kept frames, or none with the reason."""

    utterance_id: int
    matrix: np.ndarray  # (n_frames, F) float32
    frame_index: np.ndarray  # (n_frames,) frame number of each kept frame
    n_frames_total: int = 0  # before frame selection
    no_frames_reason: str = ""  # set when matrix has no rows
    utterance_vector: np.ndarray | None = None  # (V,) per-utterance descriptors, for sets that have them


@dataclass
class Shard:
    """A chunk's results as read back from disk."""

    utterance_ids: np.ndarray  # (U,) int64, utterances with frames, in order
    lengths: np.ndarray  # (U,) int64
    features: np.ndarray  # (sum(lengths), F) float32
    frame_index: np.ndarray  # (sum(lengths),) int32
    n_frames_total: int  # frames before selection, over the chunk
    empty: list[tuple[int, str]] = field(default_factory=list)  # (utterance id, reason) without frames
    utterance_vectors: np.ndarray | None = None  # (U, V) float32, or (U, 0) for sets without them


def _atomic_save(path: Path, writer) -> None:
    """Write through ``writer(file)`` to a temporary file beside ``path``, fsync, then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            writer(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def shard_path(folder: Path, key: str) -> Path:
    if not key.isalnum():
        raise ValueError(f"shard key must be alphanumeric, got {key!r}")
    return Path(folder) / SHARD_DIR / f"{key}.npz"


def write_shard(folder: Path, key: str, results: Sequence[UtteranceFeatures], n_features: int = N_FEATURES) -> Path:
    """Save one chunk's results as ``shards/<key>.npz`` (atomically; rewriting is harmless).
    ``n_features``: the set's column count, which every matrix must have."""
    with_frames = [r for r in results if r.matrix.shape[0] > 0]
    empty = [r for r in results if r.matrix.shape[0] == 0]
    for result in with_frames:
        if result.matrix.ndim != 2 or result.matrix.shape[1] != n_features:
            raise ValueError(
                f"utterance {result.utterance_id}: expected (n, {n_features}) features, got {result.matrix.shape}"
            )
    vector_sizes = {0 if r.utterance_vector is None else len(r.utterance_vector) for r in with_frames}
    if len(vector_sizes) > 1:
        sizes = sorted(vector_sizes)
        raise ValueError(f"utterances of one chunk carry per-utterance vectors of different sizes: {sizes}")
    vector_size = vector_sizes.pop() if vector_sizes else 0
    arrays = {
        "utterance_ids": np.array([r.utterance_id for r in with_frames], dtype=np.int64),
        "lengths": np.array([r.matrix.shape[0] for r in with_frames], dtype=np.int64),
        "features": (
            np.concatenate([r.matrix for r in with_frames]).astype(np.float32, copy=False)
            if with_frames
            else np.zeros((0, n_features), dtype=np.float32)
        ),
        "utterance_vectors": (
            np.stack([r.utterance_vector for r in with_frames]).astype(np.float32)
            if vector_size
            else np.zeros((len(with_frames), 0), dtype=np.float32)
        ),
        "frame_index": (
            np.concatenate([r.frame_index for r in with_frames]).astype(np.int32)
            if with_frames
            else np.zeros(0, dtype=np.int32)
        ),
        "n_frames_total": np.array(sum(r.n_frames_total for r in results), dtype=np.int64),
        "empty_ids": np.array([r.utterance_id for r in empty], dtype=np.int64),
        "empty_reasons": np.array([r.no_frames_reason or "no frames" for r in empty], dtype=np.str_),
    }
    path = shard_path(folder, key)
    _atomic_save(path, lambda file: np.savez(file, **arrays))
    return path


def shard_exists(folder: Path, key: str) -> bool:
    return shard_path(folder, key).is_file()


def read_shard(folder: Path, key: str) -> Shard:
    path = shard_path(folder, key)
    try:
        with np.load(path, allow_pickle=False) as data:
            return Shard(
                utterance_ids=data["utterance_ids"],
                lengths=data["lengths"],
                features=data["features"],
                frame_index=data["frame_index"],
                n_frames_total=int(data["n_frames_total"]),
                empty=list(zip(data["empty_ids"].tolist(), data["empty_reasons"].tolist(), strict=True)),
                utterance_vectors=(
                    data["utterance_vectors"]
                    if "utterance_vectors" in data.files
                    else np.zeros((len(data["utterance_ids"]), 0), dtype=np.float32)
                ),
            )
    except FileNotFoundError:
        raise FeatureStoreError(f"shard missing: {path}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise FeatureStoreError(f"shard unreadable: {path} ({exc})") from None


@dataclass(frozen=True)
class PackSummary:
    n_utterances: int  # utterances with frames
    n_frames: int  # frames stored
    n_frames_total: int  # frames before selection
    empty: list[tuple[int, str]]  # (utterance id, reason) for utterances without frames


def pack_shards(folder: Path, keys: Iterable[str], *, remove_shards: bool = True) -> PackSummary:
    """Pack the named shards, in order, into the contiguous store of ``folder``.

    Each file is written under a temporary name and renamed; the index goes last, so a crash
    leaves no index and the store reads as incomplete rather than wrong.
    """
    folder = Path(folder)
    shards = [read_shard(folder, key) for key in keys]
    n_frames = sum(int(s.lengths.sum()) for s in shards)
    widths = {s.features.shape[1] for s in shards if s.lengths.size}
    vector_widths = {s.utterance_vectors.shape[1] for s in shards if s.lengths.size}
    if len(widths) > 1 or len(vector_widths) > 1:
        raise FeatureStoreError(f"the shards of {folder} hold different column counts: {sorted(widths)}")
    n_columns = widths.pop() if widths else (shards[0].features.shape[1] if shards else N_FEATURES)
    vector_width = vector_widths.pop() if vector_widths else 0
    features = np.empty((n_frames, n_columns), dtype=np.float32)
    frame_index = np.empty(n_frames, dtype=np.int32)
    rows, offset, seen = [], 0, set()
    for shard in shards:
        size = int(shard.lengths.sum())
        features[offset : offset + size] = shard.features
        frame_index[offset : offset + size] = shard.frame_index
        starts = offset + np.concatenate(([0], np.cumsum(shard.lengths)[:-1])) if shard.lengths.size else []
        for utterance_id, start, length in zip(
            shard.utterance_ids.tolist(), list(starts), shard.lengths.tolist(), strict=True
        ):
            if utterance_id in seen:
                raise FeatureStoreError(f"utterance {utterance_id} appears in two shards of {folder}")
            seen.add(utterance_id)
            rows.append((utterance_id, int(start), int(length)))
        offset += size
    index = np.array(rows, dtype=np.int64).reshape(-1, 3)

    (folder / INDEX_FILE).unlink(missing_ok=True)  # the store is incomplete until the new index lands
    _atomic_save(folder / FEATURES_FILE, lambda file: np.save(file, features))
    _atomic_save(folder / FRAME_INDEX_FILE, lambda file: np.save(file, frame_index))
    if vector_width:
        vectors = np.concatenate([s.utterance_vectors for s in shards if s.lengths.size])
        _atomic_save(folder / VECTORS_FILE, lambda file: np.save(file, vectors))
    else:
        (folder / VECTORS_FILE).unlink(missing_ok=True)
    _atomic_save(folder / INDEX_FILE, lambda file: np.save(file, index))
    if remove_shards:
        shutil.rmtree(folder / SHARD_DIR, ignore_errors=True)
    return PackSummary(
        n_utterances=len(rows),
        n_frames=n_frames,
        n_frames_total=sum(s.n_frames_total for s in shards),
        empty=[item for s in shards for item in s.empty],
    )


class PackedStore:
    """Read access to a packed store: memory-mapped, sliced per utterance."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        try:
            index = np.load(self.folder / INDEX_FILE, allow_pickle=False)
            self._features = np.load(self.folder / FEATURES_FILE, mmap_mode="r", allow_pickle=False)
            self._frame_index = np.load(self.folder / FRAME_INDEX_FILE, mmap_mode="r", allow_pickle=False)
        except FileNotFoundError as exc:
            raise FeatureStoreError(f"feature store incomplete or missing: {exc.filename}") from None
        except (OSError, ValueError) as exc:
            raise FeatureStoreError(f"feature store unreadable in {self.folder}: {exc}") from None
        if index.ndim != 2 or index.shape[1] != 3:
            raise FeatureStoreError(f"{self.folder / INDEX_FILE}: expected (n, 3) rows, got {index.shape}")
        if self._features.ndim != 2 or self._features.shape[1] < 1:
            shape = self._features.shape
            raise FeatureStoreError(f"{self.folder / FEATURES_FILE}: expected (n, F) frames, got {shape}")
        self._vectors = None
        if (self.folder / VECTORS_FILE).is_file():
            self._vectors = np.load(self.folder / VECTORS_FILE, allow_pickle=False)
            if self._vectors.ndim != 2 or self._vectors.shape[0] != index.shape[0]:
                raise FeatureStoreError(
                    f"{self.folder / VECTORS_FILE}: expected one row per utterance ({index.shape[0]}), "
                    f"got {self._vectors.shape}"
                )
        n_rows = self._features.shape[0]
        if index.size and int((index[:, 1] + index[:, 2]).max()) > n_rows or self._frame_index.shape[0] != n_rows:
            raise FeatureStoreError(f"feature store in {self.folder} is inconsistent: the index points past the data")
        self._rows = {int(u): (int(start), int(length)) for u, start, length in index}
        self._vector_row = {int(u): row for row, u in enumerate(index[:, 0])}

    @property
    def utterance_ids(self) -> list[int]:
        return list(self._rows)

    @property
    def n_frames(self) -> int:
        return int(self._features.shape[0])

    def __contains__(self, utterance_id: int) -> bool:
        return utterance_id in self._rows

    def _span(self, utterance_id: int) -> slice:
        start, length = self._rows[utterance_id]
        return slice(start, start + length)

    def matrices(self, utterance_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """utterance id -> (n_frames, F) float32, an in-memory copy (safe to modify).
        Ids without frames in the store are left out."""
        wanted = self._rows if utterance_ids is None else [u for u in utterance_ids if u in self._rows]
        if utterance_ids is None or len(wanted) > len(self._rows) // 4:
            data = np.asarray(self._features)  # one sequential read beats many scattered ones
            block = np.array(data)
            return {u: block[self._span(u)] for u in wanted}
        return {u: np.array(self._features[self._span(u)]) for u in wanted}

    @property
    def n_features(self) -> int:
        return int(self._features.shape[1])

    @property
    def has_utterance_vectors(self) -> bool:
        return self._vectors is not None

    def utterance_vectors(self, utterance_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """utterance id -> (V,) float32 per-utterance descriptors; empty for sets without them."""
        if self._vectors is None:
            return {}
        wanted = self._rows if utterance_ids is None else [u for u in utterance_ids if u in self._rows]
        return {u: np.array(self._vectors[self._vector_row[u]]) for u in wanted}

    def frame_indices(self, utterance_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        """utterance id -> (n_frames,) int64 frame numbers of the kept frames."""
        wanted = self._rows if utterance_ids is None else [u for u in utterance_ids if u in self._rows]
        return {u: np.array(self._frame_index[self._span(u)], dtype=np.int64) for u in wanted}


def remove_store(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
