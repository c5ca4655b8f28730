"""The feature extractor's configuration, framing, frame selection and a few features worked out
by hand (the equality test covers the rest against pyAudioAnalysis)."""

import hashlib
import math

import numpy as np
import pytest

from models_app.ser.features import (
    FEATURE_NAMES,
    FEATURE_PRESETS,
    FeatureConfig,
    extract,
    feature_config_for_preset,
    frame_count,
    select_frames,
    short_term_features,
)
from models_app.ser.features.benchmark import speech_like_signal

COLUMN = {name: i for i, name in enumerate(FEATURE_NAMES)}


def test_the_34_names_in_pyaudioanalysis_order():
    assert len(FEATURE_NAMES) == 34
    assert FEATURE_NAMES[:8] == (
        "zcr",
        "energy",
        "energy_entropy",
        "spectral_centroid",
        "spectral_spread",
        "spectral_entropy",
        "spectral_flux",
        "spectral_rolloff",
    )
    assert FEATURE_NAMES[8:21] == tuple(f"mfcc_{i}" for i in range(1, 14))
    assert FEATURE_NAMES[21:] == (*(f"chroma_{i}" for i in range(1, 13)), "chroma_std")


def test_config_hash_is_the_sha256_of_the_canonical_json():
    canonical = (
        '{"drop_edge_frames":true,"extractor":"pyaudioanalysis-0.3.14/1","min_energy":0.0001,'
        '"n_entropy_blocks":10,"normalise":true,"rolloff_fraction":0.9,"sample_rate":16000,'
        '"step_s":0.1,"window_s":0.2}'
    )
    assert FeatureConfig().config_hash() == hashlib.sha256(canonical.encode()).hexdigest()
    assert FEATURE_PRESETS["paper"] == FeatureConfig()


def test_config_round_trips_through_a_dict_and_refuses_unknown_settings():
    config = FEATURE_PRESETS["full"]
    assert FeatureConfig.from_dict(config.to_dict()) == config
    assert FeatureConfig.from_dict(config.to_dict()).config_hash() == config.config_hash()
    with pytest.raises(ValueError, match="unknown feature settings: deltas"):
        FeatureConfig.from_dict({**config.to_dict(), "deltas": True})


def test_presets_differ_only_in_frame_selection():
    paper, full = feature_config_for_preset("paper"), feature_config_for_preset("full")
    assert paper.config_hash() != full.config_hash()
    assert (paper.drop_edge_frames, paper.min_energy) == (True, 1e-4)
    assert (full.drop_edge_frames, full.min_energy) == (False, None)
    assert paper.replace(drop_edge_frames=False, min_energy=None) == full
    assert (paper.window_samples, paper.step_samples) == (3200, 1600)
    with pytest.raises(ValueError, match="unknown feature preset 'best'"):
        feature_config_for_preset("best")


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"window_s": 0.20003}, "not a positive whole number of samples"),
        ({"step_s": 0.0}, "not a positive whole number of samples"),
        ({"min_energy": -1.0}, "min_energy must be >= 0"),
        ({"rolloff_fraction": 1.5}, "rolloff_fraction"),
        ({"window_s": 0.0005}, "too short"),
    ],
)
def test_impossible_configurations_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        FeatureConfig(**changes)


@pytest.mark.parametrize("n_samples,frames", [(0, 0), (3199, 0), (3200, 1), (4799, 1), (4800, 2), (16000, 9)])
def test_frame_count_is_floor_of_n_minus_window_over_step_plus_one(n_samples, frames):
    assert frame_count(n_samples, 3200, 1600) == frames


def test_paper_selection_drops_edges_and_frames_at_or_below_the_energy_floor():
    energy = np.array([0.5, 1e-5, 1e-4, 2e-4, 0.3])
    assert select_frames(energy, drop_edge_frames=True, min_energy=1e-4).tolist() == [3]  # 1e-4 itself goes
    assert select_frames(energy, drop_edge_frames=False, min_energy=None).tolist() == [0, 1, 2, 3, 4]
    # With two frames or fewer the authors kept the edges.
    assert select_frames(np.array([0.5, 0.5]), drop_edge_frames=True, min_energy=1e-4).tolist() == [0, 1]


def test_a_constant_frame_by_hand():
    features = short_term_features(np.full(3200, 0.5), 16000, 3200, 1600)[0]
    assert features[COLUMN["zcr"]] == 0.0
    assert features[COLUMN["energy"]] == pytest.approx(0.25)
    assert features[COLUMN["energy_entropy"]] == pytest.approx(math.log2(10))  # ten equal sub-blocks
    # All spectral mass in bin 0, which the reference places at 1 * 16000 / 3200 = 5 Hz.
    assert features[COLUMN["spectral_centroid"]] == pytest.approx(5 / 8000)
    assert features[COLUMN["spectral_rolloff"]] == 0.0
    # No filter covers bin 0: every filterbank energy is log10(eps), and the orthonormal DCT of a
    # constant 40-vector is sqrt(40) times it in the first coefficient and zero elsewhere.
    assert features[COLUMN["mfcc_1"]] == pytest.approx(math.sqrt(40) * math.log10(2.220446049250313e-16))
    assert np.abs(features[COLUMN["mfcc_2"] : COLUMN["mfcc_13"] + 1]).max() < 1e-12
    # The reference's chroma quirk: bin 0 has pitch round(12 log2(5 / 27.5)) = -30, which wraps to
    # slot 1570 (chroma class 1570 mod 12 = 10), divided by the 6 bins (490..515 Hz) that share the
    # pitch of bin 98: chroma_11 = 1/6, the rest 0, std = (1/6) * sqrt(11) / 12.
    chroma = features[COLUMN["chroma_1"] : COLUMN["chroma_12"] + 1]
    assert chroma[10] == pytest.approx(1 / 6)
    assert np.delete(chroma, 10).tolist() == [0.0] * 11
    assert features[COLUMN["chroma_std"]] == pytest.approx(math.sqrt(11) / 72)


def test_a_cosine_on_bin_160_by_hand():
    n = np.arange(3200)
    features = short_term_features(np.cos(2 * np.pi * 160 * n / 3200), 16000, 3200, 1600)[0]
    assert features[COLUMN["zcr"]] == pytest.approx(320 / 3199)  # 160 periods, two crossings each
    assert features[COLUMN["energy"]] == pytest.approx(0.5)
    assert features[COLUMN["spectral_centroid"]] == pytest.approx(161 * 5 / 8000, rel=1e-9)
    assert features[COLUMN["spectral_rolloff"]] == pytest.approx(160 / 1600)
    assert features[COLUMN["spectral_entropy"]] == pytest.approx(0.0, abs=1e-12)


def test_flux_is_zero_for_the_first_frame_and_for_repeated_spectra():
    period = np.sin(2 * np.pi * np.arange(1600) / 32)  # 50 periods per step: every frame alike
    features = short_term_features(np.tile(period, 6), 16000, 3200, 1600)
    assert features.shape[0] == 5
    assert features[:, COLUMN["spectral_flux"]] == pytest.approx(np.zeros(5), abs=1e-20)


def test_extract_reports_frame_times_for_the_timeline():
    signal = speech_like_signal(2.0, seed=1)
    result = extract(signal, 16000, FEATURE_PRESETS["full"])
    assert result.n_frames == result.n_frames_total == 19
    assert result.frame_start_s[:3] == pytest.approx([0.0, 0.1, 0.2])
    paper = extract(signal, 16000, FEATURE_PRESETS["paper"])
    assert paper.frame_index[0] >= 1 and paper.frame_index[-1] <= 17
    assert np.array_equal(paper.matrix, result.matrix[paper.frame_index])


def test_the_same_samples_give_the_same_features_in_any_layout():
    rng = np.random.default_rng(3)
    mono = rng.standard_normal(20000)
    as_int16 = (mono / np.abs(mono).max() * 30000).astype(np.int16)
    from_int = extract(as_int16, 16000).matrix
    from_float = extract(as_int16 / 2**15, 16000).matrix
    from_two_equal_channels = extract(np.stack([as_int16, as_int16], axis=1), 16000).matrix
    assert np.array_equal(from_int, from_float)
    assert np.array_equal(from_int, from_two_equal_channels)


def test_speech_like_signal_is_deterministic_and_peak_normalised():
    a, b = speech_like_signal(1.0, seed=4), speech_like_signal(1.0, seed=4)
    assert np.array_equal(a, b) and a.shape == (16000,)
    assert np.abs(a).max() == pytest.approx(1.0)
