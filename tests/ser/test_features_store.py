"""The on-disk store of feature matrices (Django-free): shards, packing, reading, damage."""

import numpy as np
import pytest

from models_app.ser.feature_store import (
    FEATURES_FILE,
    INDEX_FILE,
    FeatureStoreError,
    PackedStore,
    UtteranceFeatures,
    pack_shards,
    read_shard,
    shard_exists,
    shard_path,
    write_shard,
)
from models_app.ser.features.benchmark import benchmark_layouts, synthetic_matrices


def result(utterance_id: int, n_frames: int, reason: str = "") -> UtteranceFeatures:
    matrix = np.arange(n_frames * 34, dtype=np.float32).reshape(n_frames, 34) + 1000 * utterance_id
    return UtteranceFeatures(utterance_id, matrix, np.arange(1, n_frames + 1), n_frames + 2, reason)


def test_shards_pack_into_one_store_that_reads_back_each_utterance(tmp_path):
    write_shard(tmp_path, "a", [result(1, 3), result(2, 0, "silent"), result(3, 5)])
    write_shard(tmp_path, "b", [result(7, 2)])
    summary = pack_shards(tmp_path, ["a", "b"])
    assert (summary.n_utterances, summary.n_frames, summary.n_frames_total) == (
        3,
        10,
        (3 + 2) + (0 + 2) + (5 + 2) + (2 + 2),
    )
    assert summary.empty == [(2, "silent")]
    assert not (tmp_path / "shards").exists()

    store = PackedStore(tmp_path)
    assert store.utterance_ids == [1, 3, 7] and store.n_frames == 10
    matrices = store.matrices()
    for pk, n in ((1, 3), (3, 5), (7, 2)):
        assert np.array_equal(matrices[pk], result(pk, n).matrix)
    assert store.matrices([7, 2]).keys() == {7}  # no frames, no entry
    assert store.frame_indices([3])[3].tolist() == [1, 2, 3, 4, 5]
    matrices[1][0, 0] = -1.0  # a reader's copy: the store is not touched
    assert PackedStore(tmp_path).matrices([1])[1][0, 0] == 1000.0


def test_a_chunk_written_twice_gives_the_same_shard(tmp_path):
    write_shard(tmp_path, "k", [result(1, 3)])
    first = shard_path(tmp_path, "k").read_bytes()
    write_shard(tmp_path, "k", [result(1, 3)])
    assert shard_path(tmp_path, "k").read_bytes() == first
    assert [p.name for p in (tmp_path / "shards").iterdir()] == ["k.npz"]  # no temporary left behind
    assert read_shard(tmp_path, "k").lengths.tolist() == [3]


def test_without_its_index_a_store_is_incomplete_not_wrong(tmp_path):
    write_shard(tmp_path, "a", [result(1, 3)])
    pack_shards(tmp_path, ["a"])
    (tmp_path / INDEX_FILE).unlink()  # as after a crash before the last rename
    with pytest.raises(FeatureStoreError, match="incomplete or missing"):
        PackedStore(tmp_path)


def test_an_index_pointing_past_the_data_is_detected(tmp_path):
    write_shard(tmp_path, "a", [result(1, 3)])
    pack_shards(tmp_path, ["a"])
    np.save(tmp_path / FEATURES_FILE, np.zeros((2, 34), dtype=np.float32))
    with pytest.raises(FeatureStoreError, match="inconsistent"):
        PackedStore(tmp_path)


def test_an_utterance_in_two_shards_is_refused(tmp_path):
    write_shard(tmp_path, "a", [result(1, 3)])
    write_shard(tmp_path, "b", [result(1, 3)])
    with pytest.raises(FeatureStoreError, match="utterance 1 appears in two shards"):
        pack_shards(tmp_path, ["a", "b"])


def test_missing_or_corrupt_shards_are_reported(tmp_path):
    with pytest.raises(FeatureStoreError, match="shard missing"):
        read_shard(tmp_path, "nothere")
    shard_path(tmp_path, "bad").parent.mkdir(parents=True)
    shard_path(tmp_path, "bad").write_bytes(b"not an npz")
    with pytest.raises(FeatureStoreError, match="shard unreadable"):
        read_shard(tmp_path, "bad")


def test_shard_keys_cannot_name_paths(tmp_path):
    with pytest.raises(ValueError, match="alphanumeric"):
        shard_exists(tmp_path, "../../etc")


def test_wrong_matrix_shapes_are_refused(tmp_path):
    bad = UtteranceFeatures(1, np.zeros((3, 33), dtype=np.float32), np.arange(3), 3)
    with pytest.raises(ValueError, match=r"expected \(n, 34\)"):
        write_shard(tmp_path, "a", [bad])


def test_layout_benchmark_reads_back_every_layout(tmp_path):
    matrices = synthetic_matrices(n_utterances=12, n_frames_total=300, seed=2)
    assert sum(m.shape[0] for m in matrices.values()) == pytest.approx(300, abs=12)
    timings = benchmark_layouts(matrices, tmp_path / "layouts", chunk_size=5)
    assert [(t.layout, t.n_files) for t in timings] == [("npy-per-utterance", 12), ("shards", 3), ("packed-memmap", 3)]
    assert all(t.write_s > 0 and t.read_all_cold_s > 0 for t in timings)
