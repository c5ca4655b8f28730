"""The openSMILE feature sets (eGeMAPSv02, ComParE 2016) on the paper's frames.

Frame counts by hand: n samples give floor((n - 3200) / 1600) + 1 frames of 200 ms every 100 ms;
the paper preset keeps those with energy above 1e-4 and drops the first and last; ``full``
keeps all. The pooled values are checked against openSMILE's own ``process_file`` on the same
file, pooled by a plain loop written independently of the code under test.
"""

import numpy as np
import opensmile
import pytest
import soundfile

from models_app.ser.feature_store import PackedStore, UtteranceFeatures, pack_shards, write_shard
from models_app.ser.features import extract, feature_config_for_preset
from models_app.ser.features.columns import (
    COMPARE_LLD_NAMES,
    EGEMAPS_LLD_NAMES,
    feature_names,
    loudness_column,
)
from models_app.ser.features.config import DEFAULT_FEATURE_SET, FEATURE_PRESETS, FeatureConfig
from models_app.ser.features.opensmile_sets import pool_to_frames

RATE = 16000


def tone(seconds: float, frequency: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A gliding harmonic tone with noise, loud then quiet: voiced frames with pitch movement."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 40 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.4 * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    return (envelope * voiced + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def test_column_names_are_opensmiles_own():
    for feature_set, names in (("eGeMAPSv02", EGEMAPS_LLD_NAMES), ("ComParE_2016", COMPARE_LLD_NAMES)):
        smile = opensmile.Smile(
            feature_set=getattr(opensmile.FeatureSet, feature_set),
            feature_level=opensmile.FeatureLevel.LowLevelDescriptors,
        )
        assert tuple(smile.feature_names) == names
    assert len(feature_names("egemaps")) == 2 * 25 and len(feature_names("compare")) == 2 * 65
    assert feature_names("egemaps")[0] == "Loudness_sma3_mean" and feature_names("egemaps")[25] == "Loudness_sma3_std"
    assert loudness_column("pyaudioanalysis34") == 1
    assert feature_names("compare")[loudness_column("compare")] == "pcm_RMSenergy_sma_mean"


def test_the_paper_set_keeps_its_hash_and_the_others_get_their_own():
    paper = FEATURE_PRESETS["paper"]
    assert paper.feature_set == DEFAULT_FEATURE_SET
    assert feature_config_for_preset("paper", "pyaudioanalysis34") is paper
    names = ("pyaudioanalysis34", "egemaps", "compare")
    hashes = {feature_config_for_preset("paper", name).config_hash() for name in names}
    assert len(hashes) == 3
    egemaps = feature_config_for_preset("paper", "egemaps")
    assert FeatureConfig.from_dict(egemaps.to_dict()) == egemaps
    with pytest.raises(ValueError, match="unknown feature set 'mfcc'"):
        FeatureConfig(feature_set="mfcc")


def test_pooling_takes_mean_and_std_of_the_lld_frames_centred_in_each_frame():
    # LLD frames every 10 ms centred at 5, 15, ..., 395 ms; value = centre in ms, second LLD = 1.
    centres = (np.arange(40) * 10 + 5) / 1000
    values = np.stack([centres * 1000, np.ones(40)], axis=1)
    pooled = pool_to_frames(values, centres, n_frames=3, window_s=0.2, step_s=0.1)
    # frame 0 [0, 200 ms): centres 5..195 -> mean 100, std of 20 evenly spaced values 10 ms apart
    spread = np.std(np.arange(20) * 10.0)
    np.testing.assert_allclose(pooled[:, 0], [100.0, 200.0, 300.0])
    np.testing.assert_allclose(pooled[:, 2], [spread] * 3)
    np.testing.assert_allclose(pooled[:, 1], 1.0)
    np.testing.assert_allclose(pooled[:, 3], 0.0)


def test_pooling_falls_back_to_the_nearest_lld_frame_and_refuses_nan():
    centres = np.array([0.05, 0.12])  # nothing centred in frame 1 [0.1 s, 0.3 s) after 0.12? 0.12 is in it
    values = np.array([[1.0], [2.0]])
    pooled = pool_to_frames(values, centres, n_frames=3, window_s=0.2, step_s=0.1)
    # frame 2 [0.2, 0.4) holds no centre: the one nearest its middle (0.3 s) is 0.12 -> value 2, std 0
    np.testing.assert_allclose(pooled[2], [2.0, 0.0])
    np.testing.assert_allclose(pooled[0], [1.5, 0.5])
    with pytest.raises(ValueError, match="NaN or infinite descriptors in frame 0"):
        pool_to_frames(np.array([[np.nan]]), np.array([0.05]), 1, 0.2, 0.1)


@pytest.mark.parametrize("feature_set, n_columns", [("egemaps", 50), ("compare", 130)])
def test_shapes_frames_and_times_match_the_paper_set(feature_set, n_columns):
    signal = speech_like(1.05)  # 16800 samples: floor((16800 - 3200) / 1600) + 1 = 9 frames
    paper = extract(signal, RATE, feature_config_for_preset("paper"))
    other = extract(signal, RATE, feature_config_for_preset("paper", feature_set))
    assert other.n_frames_total == paper.n_frames_total == 9
    assert other.matrix.shape == (7, n_columns) and other.matrix.dtype == np.float32
    np.testing.assert_array_equal(other.frame_index, paper.frame_index)
    np.testing.assert_array_equal(other.frame_index, np.arange(1, 8))
    np.testing.assert_allclose(other.frame_start_s, np.arange(1, 8) * 0.1)
    assert np.all(np.isfinite(other.matrix))
    assert (other.utterance_vector is not None) == (feature_set == "egemaps")
    if feature_set == "egemaps":
        assert other.utterance_vector.shape == (88,)
    full = extract(signal, RATE, feature_config_for_preset("full", feature_set))
    assert full.matrix.shape == (9, n_columns)
    np.testing.assert_array_equal(full.matrix[1:8], other.matrix)


@pytest.mark.parametrize("feature_set", ["egemaps", "compare"])
def test_silence_and_very_short_signals_give_no_frames_and_no_error(feature_set):
    silent = extract(np.zeros(RATE, dtype=np.float32), RATE, feature_config_for_preset("paper", feature_set))
    assert silent.n_frames_total == 9 and silent.matrix.shape[0] == 0 and silent.utterance_vector is None
    kept_silence = extract(np.zeros(RATE, dtype=np.float32), RATE, feature_config_for_preset("full", feature_set))
    assert kept_silence.matrix.shape[0] == 9 and np.all(np.isfinite(kept_silence.matrix))
    short = extract(tone(0.19), RATE, feature_config_for_preset("full", feature_set))  # 3040 < 3200 samples
    assert short.n_frames_total == 0 and short.matrix.shape == (0, len(feature_names(feature_set)))
    assert short.utterance_vector is None


def test_extraction_is_deterministic():
    signal = speech_like(1.5, seed=3)
    config = feature_config_for_preset("paper", "egemaps")
    first, second = extract(signal, RATE, config), extract(signal.copy(), RATE, config)
    assert first.matrix.tobytes() == second.matrix.tobytes()
    assert first.utterance_vector.tobytes() == second.utterance_vector.tobytes()


@pytest.mark.parametrize("feature_set, smile_set", [("egemaps", "eGeMAPSv02"), ("compare", "ComParE_2016")])
def test_equal_to_opensmiles_process_file_pooled_by_hand(tmp_path, feature_set, smile_set):
    path = tmp_path / "utterance.wav"
    soundfile.write(path, speech_like(1.3, seed=5), RATE, subtype="PCM_16")
    samples, rate = soundfile.read(path, dtype="int16")
    ours = extract(samples, rate, feature_config_for_preset("full", feature_set))

    smile = opensmile.Smile(
        feature_set=getattr(opensmile.FeatureSet, smile_set), feature_level=opensmile.FeatureLevel.LowLevelDescriptors
    )
    table = smile.process_file(str(path))
    starts = table.index.get_level_values("start").total_seconds().to_numpy()
    ends = table.index.get_level_values("end").total_seconds().to_numpy()
    values = table.to_numpy(dtype=np.float64)
    expected = []
    for frame in range(ours.n_frames_total):  # (20800 - 3200) // 1600 + 1 = 12 frames
        # In whole microseconds: 3 * 0.1 is 0.30000000000000004 in floating point, not 0.3.
        begin, end = frame * 100_000, frame * 100_000 + 200_000
        inside = [k for k in range(len(values)) if begin <= round((starts[k] + ends[k]) / 2 * 1e6) < end]
        expected.append(np.concatenate([values[inside].mean(axis=0), values[inside].std(axis=0)]))
    assert ours.n_frames_total == 12
    np.testing.assert_allclose(ours.matrix, np.array(expected, dtype=np.float32), rtol=1e-6, atol=1e-6)

    if feature_set == "egemaps":
        functionals = opensmile.Smile(
            feature_set=opensmile.FeatureSet.eGeMAPSv02, feature_level=opensmile.FeatureLevel.Functionals
        ).process_file(str(path))
        reference = np.nan_to_num(functionals.to_numpy(dtype=np.float64)[0])
        np.testing.assert_allclose(ours.utterance_vector, reference.astype(np.float32), rtol=1e-6, atol=1e-6)


def test_the_store_keeps_any_column_count_and_the_utterance_vectors(tmp_path):
    def result(uid, n, vector):
        matrix = np.full((n, 50), float(uid), dtype=np.float32)
        return UtteranceFeatures(uid, matrix, np.arange(n), n, utterance_vector=vector)

    write_shard(tmp_path, "a", [result(1, 3, np.full(88, 1.5, np.float32)), result(2, 0, None)], n_features=50)
    write_shard(tmp_path, "b", [result(5, 2, np.full(88, 5.5, np.float32))], n_features=50)
    summary = pack_shards(tmp_path, ["a", "b"])
    assert summary.n_utterances == 2 and summary.empty == [(2, "no frames")]
    store = PackedStore(tmp_path)
    assert store.n_features == 50 and store.has_utterance_vectors
    assert {u: m.shape for u, m in store.matrices().items()} == {1: (3, 50), 5: (2, 50)}
    vectors = store.utterance_vectors([5, 1])
    np.testing.assert_array_equal(vectors[1], np.full(88, 1.5))
    np.testing.assert_array_equal(vectors[5], np.full(88, 5.5))
    with pytest.raises(ValueError, match=r"expected \(n, 34\) features, got \(2, 50\)"):
        write_shard(tmp_path, "c", [result(7, 2, None)], n_features=34)


@pytest.mark.parametrize("preset", ["paper", "full"])
def test_the_timeline_reads_a_models_set_on_the_same_frames_as_training(preset):
    from models_app.ser.timeline import recording_features

    signal = speech_like(1.25, seed=7)
    config = feature_config_for_preset(preset, "egemaps")
    recording = recording_features(signal, RATE, config)
    training = extract(signal, RATE, config)
    np.testing.assert_array_equal(recording.kept_index, training.frame_index)
    np.testing.assert_array_equal(recording.matrix, training.matrix)
    assert recording.matrix.shape[1] == 50
