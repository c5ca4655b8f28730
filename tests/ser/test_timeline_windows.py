"""The emotion timeline with a real (tiny) CTC network (models_app/ser/timeline.py): windows
joined without seams, each frame depending only on the windows around it, frames mapped back to
their times, the model's frame selection reproduced."""

import numpy as np
import pytest

from models_app.ser import decoding
from models_app.ser.features import ENERGY_COLUMN, FEATURE_PRESETS, extract
from models_app.ser.methods import CTCBLSTM
from models_app.ser.progress import ProgressEvent
from models_app.ser.timeline import (
    RecordingFeatures,
    TimelineConfig,
    emotion_timeline,
    plan_windows,
    recording_features,
    timeline_from_features,
    window_taper,
    windowed_probabilities,
)
from tests.factories import synthetic_sequences, tone

WINDOW, HOP = 20, 5
# Batches of different sizes may sum in another order inside the matrix products: results may
# differ in the last digits (measured: 0 here; 1e-6 allows for other CPUs), never more.
BATCH_TOLERANCE = 1e-6


@pytest.fixture(scope="module")
def model():
    X, y, _ = synthetic_sequences(n_per_class=20, n_classes=3, seed=0)
    return CTCBLSTM(
        hidden_units=16,
        dense_units=32,
        n_threads=1,
        random_state=0,
        pad_frames=None,
        standardize=True,
        epochs=20,
        learning_rate=1e-2,
    ).fit(X, np.array(["anger", "neutral", "sadness"])[y])


@pytest.fixture(scope="module")
def long_sequence():
    X, _, _ = synthetic_sequences(n_per_class=15, n_classes=3, seed=1)
    return np.concatenate(X)  # (641, 34): 45 utterances of three emotions in a row


def _reference(model, matrix, window, hop):
    """The definition, computed independently: each window alone through the network, its
    one-emotion labelings by the decoders' forward algorithm, Hann-weighted mean per frame."""
    n, k = len(matrix), len(model.classes_)
    total, weights = np.zeros((n, k + 1)), np.zeros(n)
    for start in plan_windows(n, window, hop):
        outputs = model.predict_frame_proba([matrix[start : start + window]])[0][model.discard_first_outputs :]
        log_labelings = np.append(decoding.single_label_log_probabilities(outputs, k), np.log(outputs[:, k]).sum())
        posterior = np.exp(log_labelings - np.logaddexp.reduce(log_labelings))
        total[start : start + window] += np.outer(window_taper(window), posterior)
        weights[start : start + window] += window_taper(window)
    return total / weights[:, None]


def test_windowed_probabilities_follow_their_definition(model, long_sequence):
    events = []
    batched = windowed_probabilities(
        model, long_sequence, window_frames=WINDOW, hop_frames=HOP, windows_per_batch=50, progress=events.append
    )
    assert batched.shape == (641, 4)
    np.testing.assert_allclose(batched.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(batched, _reference(model, long_sequence, WINDOW, HOP), rtol=0, atol=BATCH_TOLERANCE)
    # 641 frames: windows at 0, 5, ..., 620 and 621: 126 windows, reported in batches of 50
    assert [e.done for e in events] == [50, 100, 126] and {e.total for e in events} == {126}
    assert all(isinstance(e, ProgressEvent) and e.stage == "timeline" for e in events)


def test_batch_size_does_not_change_the_result(model, long_sequence):
    one_at_a_time = windowed_probabilities(
        model, long_sequence, window_frames=WINDOW, hop_frames=HOP, windows_per_batch=1
    )
    all_at_once = windowed_probabilities(
        model, long_sequence, window_frames=WINDOW, hop_frames=HOP, windows_per_batch=500
    )
    np.testing.assert_allclose(one_at_a_time, all_at_once, rtol=0, atol=BATCH_TOLERANCE)


def test_windows_join_without_seams(model, long_sequence):
    """With overlapping tapered windows, the probabilities change no faster at window boundaries
    than anywhere else; cutting the same sequence into windows that do not overlap leaves jumps
    at their edges (the control: it shows the measure can see seams)."""
    overlapping = windowed_probabilities(model, long_sequence, window_frames=WINDOW, hop_frames=HOP)
    butted = windowed_probabilities(model, long_sequence, window_frames=WINDOW, hop_frames=WINDOW)
    edges = np.arange(WINDOW, 620, WINDOW)  # frame t starts a new window in the butted version

    def jumps(probabilities):
        return np.abs(np.diff(probabilities, axis=0)).max(axis=1)  # (n - 1,): change from frame t - 1 to t

    butted_jumps, overlapping_jumps = jumps(butted), jumps(overlapping)
    inside = np.setdiff1d(np.arange(1, 640), edges)
    assert butted_jumps[edges - 1].mean() > 5 * butted_jumps[inside - 1].mean()  # seams at the edges
    assert overlapping_jumps.max() < 0.5 * butted_jumps[edges - 1].max()
    # ... and no trace of them in the overlapping version: its changes are as large anywhere
    assert overlapping_jumps[edges - 1].mean() < 2 * overlapping_jumps.mean()


def test_a_frame_depends_only_on_the_windows_around_it(model, long_sequence):
    # Replace the first 100 frames with other speech (a whole number of hops, so the windows
    # further on start at the same frames): frames more than a window after the change keep
    # exactly their probabilities. This is what lets a long recording be processed in pieces.
    other = synthetic_sequences(n_per_class=4, n_classes=3, seed=7)[0]
    changed = long_sequence.copy()
    changed[:100] = np.concatenate(other)[:100]
    before = windowed_probabilities(model, long_sequence, window_frames=WINDOW, hop_frames=HOP)
    after = windowed_probabilities(model, changed, window_frames=WINDOW, hop_frames=HOP)
    np.testing.assert_allclose(after[100 + WINDOW :], before[100 + WINDOW :], rtol=0, atol=BATCH_TOLERANCE)
    assert np.abs(after[:100] - before[:100]).max() > 0.01  # the changed part did change


def test_a_sequence_shorter_than_a_window_is_one_utterance(model, long_sequence):
    # Eight frames: one window, whose posterior every frame gets: the exact decoder's decision on
    # the whole sequence (with the none labeling beside the emotions).
    short = long_sequence[:8]
    probabilities = windowed_probabilities(model, short, window_frames=WINDOW, hop_frames=HOP)
    np.testing.assert_allclose(probabilities, np.broadcast_to(probabilities[0], probabilities.shape), rtol=1e-12)
    exact = model.proba_from_frame_proba(model.predict_frame_proba([short]))[0]  # normalised over emotions only
    np.testing.assert_allclose(probabilities[0, :-1] / probabilities[0, :-1].sum(), exact, rtol=1e-9)


def test_frames_map_back_to_their_times(model, long_sequence):
    # 15 frames, of which the model's selection kept 7.
    kept_index = np.array([3, 4, 7, 8, 9, 12, 13])
    features = RecordingFeatures(
        matrix=long_sequence[:7], kept_index=kept_index, n_frames=15, frame_step_s=0.1, window_s=0.2, duration_s=1.6
    )
    timeline = timeline_from_features(model, features)
    assert timeline.scored.tolist() == [i in kept_index for i in range(15)]
    np.testing.assert_array_equal(
        timeline.probabilities[kept_index],
        windowed_probabilities(model, long_sequence[:7], window_frames=WINDOW, hop_frames=HOP),
    )
    for frame in sorted(set(range(15)) - set(kept_index.tolist())):
        assert timeline.probabilities[frame].tolist() == [0.0, 0.0, 0.0, 1.0]
    assert timeline.columns == ("anger", "neutral", "sadness", "none")
    for segment in timeline.segments:  # segments start and end on frames the network saw
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
