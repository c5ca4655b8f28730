"""The emotion timeline with a real (tiny) CTC network: windows that join without seams, frames
mapped back to their times, the model's frame selection reproduced (models_app/ser/timeline.py)."""

import numpy as np
import pytest

from models_app.ser.features import ENERGY_COLUMN, FEATURE_PRESETS, extract
from models_app.ser.methods import CTCBLSTM
from models_app.ser.progress import ProgressEvent
from models_app.ser.timeline import (
    RecordingFeatures,
    TimelineConfig,
    emotion_timeline,
    form_segments,
    recording_features,
    timeline_from_features,
    windowed_frame_proba,
)
from tests.factories import synthetic_sequences, tone

# Whole-sequence and windowed probabilities of this model differ by 9e-6 at most with a
# 100-frame margin (measured); 1e-4 leaves room for other CPUs' rounding, and is still 100 times
# below what a margin of 0 gives (checked below, so the comparison can fail).
SEAM_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def model():
    X, y, _ = synthetic_sequences(n_per_class=20, n_classes=3, seed=0)
    return CTCBLSTM(
        hidden_units=16, dense_units=32, n_threads=1, random_state=0, pad_frames=None, standardize=True,
        epochs=20, learning_rate=1e-2,
    ).fit(X, np.array(["anger", "neutral", "sadness"])[y])  # fmt: skip


@pytest.fixture(scope="module")
def long_sequence():
    X, _, _ = synthetic_sequences(n_per_class=15, n_classes=3, seed=1)
    return np.concatenate(X)  # (641, 34): 45 utterances of three emotions in a row


def _segments(probabilities, classes):
    scored = np.ones(len(probabilities), dtype=bool)
    return form_segments(
        probabilities, scored, classes=classes, frame_step_s=0.1, window_s=0.2, duration_s=len(probabilities) * 0.1 + 0.1,
        smoothing_s=0.5, max_pause_s=1.0,
    )  # fmt: skip


def test_windows_join_without_seams(model, long_sequence):
    whole = model.predict_frame_proba([long_sequence])[0]
    events = []
    windowed = windowed_frame_proba(
        model, long_sequence, window_frames=240, margin_frames=100, windows_per_batch=4, progress=events.append
    )
    assert windowed.shape == whole.shape == (641, 4)
    assert np.abs(windowed - whole).max() < SEAM_TOLERANCE
    classes = [str(c) for c in model.classes_]
    whole_segments = [(s.emotion, s.start_frame, s.end_frame) for s in _segments(whole, classes)]
    assert len(whole_segments) > 3  # the three emotions alternate: a real timeline, not one run
    assert [(s.emotion, s.start_frame, s.end_frame) for s in _segments(windowed, classes)] == whole_segments
    # 641 frames, centres of 40 frames: 17 windows, reported in batches of 4
    assert [e.done for e in events] == [4, 8, 12, 16, 17] and {e.total for e in events} == {17}
    assert all(isinstance(e, ProgressEvent) and e.stage == "timeline" for e in events)


def test_cutting_without_a_margin_does_leave_seams(model, long_sequence):
    # The control for the test above: the comparison is sensitive enough to see real seams.
    whole = model.predict_frame_proba([long_sequence])[0]
    no_margin = windowed_frame_proba(model, long_sequence, window_frames=40, margin_frames=0)
    assert np.abs(no_margin - whole).max() > 100 * SEAM_TOLERANCE


def test_a_recording_shorter_than_a_window_is_one_pass(model, long_sequence):
    short = long_sequence[:90]
    np.testing.assert_array_equal(
        windowed_frame_proba(model, short, window_frames=500, margin_frames=100), model.predict_frame_proba([short])[0]
    )


def test_frames_map_back_to_their_times(model, long_sequence):
    # 12 frames, of which the model's selection kept 7 (frames 0, 1, 5, 6, 10, 11 and 2 dropped).
    kept_index = np.array([3, 4, 7, 8, 9, 12, 13])
    features = RecordingFeatures(
        matrix=long_sequence[:7], kept_index=kept_index, n_frames=15, frame_step_s=0.1, window_s=0.2, duration_s=1.6
    )
    timeline = timeline_from_features(model, features)
    network = model.predict_frame_proba([long_sequence[:7]])[0]
    # The first 2 outputs were never trained (discard_first_outputs): frames 3 and 4 say none.
    assert model.discard_first_outputs == 2
    assert timeline.scored.tolist() == [i in (7, 8, 9, 12, 13) for i in range(15)]
    np.testing.assert_array_equal(timeline.probabilities[[7, 8, 9, 12, 13]], network[2:])
    none_row = [0.0, 0.0, 0.0, 1.0]
    for frame in (0, 1, 2, 3, 4, 5, 6, 10, 11, 14):
        assert timeline.probabilities[frame].tolist() == none_row
    np.testing.assert_allclose(timeline.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert timeline.columns == ("anger", "neutral", "sadness", "none")
    for segment in timeline.segments:  # segments start and end on scored frames
        assert timeline.scored[segment.start_frame] and timeline.scored[segment.end_frame - 1]


def test_recording_features_reproduce_the_models_frame_selection():
    # 1 s tone, 0.5 s of digital silence, 1 s tone, at 44.1 kHz in stereo.
    rate = 44100
    part = tone(1.0, sample_rate=rate)
    mono = np.concatenate([part, np.zeros(rate // 2, dtype=np.float32), part])
    stereo = np.stack([mono, 0.5 * mono], axis=1)
    paper = FEATURE_PRESETS["paper"]
    recording = recording_features(stereo, rate, paper)
    reference = extract(stereo, rate, paper)  # what the training features of this file would be
    np.testing.assert_array_equal(recording.kept_index, reference.frame_index)
    np.testing.assert_array_equal(recording.matrix, reference.matrix)
    assert recording.n_frames == reference.n_frames_total == 24  # floor((40000 - 3200) / 1600) + 1 at 16 kHz
    assert recording.duration_s == pytest.approx(2.5)
    dropped = sorted(set(range(recording.n_frames)) - set(recording.kept_index.tolist()))
    # The edge frames 0 and 23, and frames 10..13: those wholly inside the silence (frame i covers
    # [0.1 i, 0.1 i + 0.2) s, the silence is 1.0 s to 1.5 s).
    assert dropped == [0, 10, 11, 12, 13, 23]
    assert all(recording.matrix[:, ENERGY_COLUMN] > 1e-4)
    # Under the full preset nothing is dropped.
    assert recording_features(stereo, rate, FEATURE_PRESETS["full"]).kept_index.tolist() == list(range(24))


def test_emotion_timeline_on_samples_end_to_end(model):
    rng = np.random.default_rng(0)
    samples = (0.2 * rng.standard_normal(16000 * 4)).astype(np.float32)
    events = []
    timeline = emotion_timeline(
        model, samples, 16000, feature_config=FEATURE_PRESETS["paper"], config=TimelineConfig(), progress=events.append
    )
    assert timeline.n_frames == 39 and timeline.duration_s == 4.0
    assert [e.stage for e in events] == ["features", "features", "timeline"]
    assert timeline.segments and all(0 <= s.start_s < s.end_s <= 4.0 for s in timeline.segments)
    assert all(0.0 <= s.confidence <= 1.0 for s in timeline.segments)


def test_silence_only_gives_no_segments(model):
    timeline = emotion_timeline(model, np.zeros(16000 * 2), 16000, feature_config=FEATURE_PRESETS["paper"])
    assert timeline.segments == () and not timeline.scored.any()
    assert (timeline.probabilities[:, -1] == 1.0).all()
