"""Segment forming, window planning and span agreement of the emotion timeline, on hand-made
numbers worked out by hand (models_app/ser/timeline.py)."""

import numpy as np
import pytest

from models_app.ser.methods import CTCBLSTM
from models_app.ser.timeline import (
    Segment,
    Timeline,
    TimelineConfig,
    class_names,
    emotion_shares,
    form_segments,
    frame_emotions,
    plan_windows,
    span_agreement,
)

CLASSES = ("anger", "neutral")
STEP, WINDOW = 0.1, 0.2  # the paper's frames: frame i stands for [i * 0.1 + 0.05, i * 0.1 + 0.15) s


def _segments(probabilities, scored, *, smoothing_s=0.0, max_pause_s=0.2, duration_s=0.9):
    return form_segments(
        np.array(probabilities, dtype=float),
        np.array(scored, dtype=bool),
        classes=CLASSES,
        frame_step_s=STEP,
        window_s=WINDOW,
        duration_s=duration_s,
        smoothing_s=smoothing_s,
        max_pause_s=max_pause_s,
    )


def _summary(segments):
    return [(s.emotion, s.start_frame, s.end_frame, round(s.start_s, 6), round(s.end_s, 6), round(s.confidence, 6)) for s in segments]


def test_segments_worked_by_hand():
    # Columns: anger, neutral, blank. Frame by frame (no smoothing):
    # 0: shares 0.02/0.03 = 2/3 anger          -> anger
    # 1: 0.9/0.95 = 0.947368 anger             -> anger
    # 2: not scored, between anger and neutral -> none (a pause takes an emotion only between equals)
    # 3: 0.01/0.04 = 0.25 anger, 0.75 neutral  -> neutral
    # 4: scored, but no emotion mass at all    -> a pause of 1 frame between neutral and neutral -> neutral
    # 5: 0.002/0.008 = 0.25, 0.75              -> neutral
    # 6, 7: not scored, at the end             -> none
    probabilities = [
        [0.02, 0.01, 0.97],
        [0.90, 0.05, 0.05],
        [0.30, 0.30, 0.40],  # ignored: not scored
        [0.01, 0.03, 0.96],
        [0.00, 0.00, 1.00],
        [0.002, 0.006, 0.992],
        [0.9, 0.0, 0.1],  # ignored
        [0.9, 0.0, 0.1],  # ignored
    ]
    scored = [True, True, False, True, True, True, False, False]
    segments = _segments(probabilities, scored)
    # anger: frames [0, 2) -> 0.05 s to 0.25 s; confidence = mean(2/3, 0.9/0.95) = 0.807018
    # neutral: frames [3, 6) -> 0.35 s to 0.65 s; confidence = mean over frames 3 and 5 (4 has no
    # emotion mass) of the neutral share = (0.75 + 0.75) / 2
    assert _summary(segments) == [
        ("anger", 0, 2, 0.05, 0.25, 0.807018),
        ("neutral", 3, 6, 0.35, 0.65, 0.75),
    ]
    assert [s.to_dict() for s in segments][1] == {"start": 0.35, "end": 0.65, "emotion": "neutral", "confidence": 0.75}


def test_a_pause_longer_than_max_pause_splits_a_segment():
    # anger, 3 unscored frames, anger: with max_pause 0.2 s (2 frames) the pause is too long.
    probabilities = [[0.6, 0.2, 0.2]] * 2 + [[0, 0, 1]] * 3 + [[0.6, 0.2, 0.2]] * 2
    scored = [True, True, False, False, False, True, True]
    split = _segments(probabilities, scored, max_pause_s=0.2)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in split] == [("anger", 0, 2), ("anger", 5, 7)]
    joined = _segments(probabilities, scored, max_pause_s=0.3)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in joined] == [("anger", 0, 7)]
    # confidence counts only the scored frames: 0.6 / 0.8 on each
    assert joined[0].confidence == pytest.approx(0.75)


def test_smoothing_absorbs_a_single_contrary_frame():
    # 11 frames: anger share 0.8 everywhere except the middle frame (neutral share 0.9).
    # Without smoothing the middle frame is its own neutral segment. With a Gaussian of sigma
    # 2 frames, the middle frame's own weight is about 0.2 of the total, so its smoothed neutral
    # share is about 0.2 * 0.9 + 0.8 * 0.2 = 0.34 < 0.5: one anger segment.
    row_anger = [0.08, 0.02, 0.90]
    row_neutral = [0.01, 0.09, 0.90]
    probabilities = [row_anger] * 5 + [row_neutral] + [row_anger] * 5
    scored = [True] * 11
    raw = _segments(probabilities, scored, smoothing_s=0.0, duration_s=1.2)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in raw] == [("anger", 0, 5), ("neutral", 5, 6), ("anger", 6, 11)]
    smoothed = _segments(probabilities, scored, smoothing_s=0.2, duration_s=1.2)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in smoothed] == [("anger", 0, 11)]
    # The confidence reads the network's own shares: (10 * 0.8 + 0.1) / 11
    assert smoothed[0].confidence == pytest.approx((10 * 0.8 + 0.1) / 11)


def test_segment_end_is_clipped_to_the_recording():
    probabilities = [[0.5, 0.1, 0.4]] * 3
    segments = _segments(probabilities, [True] * 3, duration_s=0.3)
    # frames [0, 3) would end at 3 * 0.1 + 0.05 = 0.35 s, past the 0.3 s recording
    assert (segments[0].start_s, segments[0].end_s) == (0.05, 0.3)


def test_nothing_scored_gives_no_segments():
    assert _segments([[0, 0, 1]] * 4, [False] * 4) == []
    assert _segments(np.zeros((0, 3)), np.zeros(0, dtype=bool)) == []


def test_shares_and_frame_emotions():
    probabilities = np.array([[0.1, 0.3, 0.6], [0.0, 0.0, 1.0], [0.2, 0.2, 0.6]])
    shares = emotion_shares(probabilities, np.array([True, True, False]))
    np.testing.assert_allclose(shares, [[0.25, 0.75], [0, 0], [0, 0]])
    # ties go to the lower index; an unusable frame between two different emotions is none
    labels = frame_emotions(np.array([[0.5, 0.5], [0, 0], [0.1, 0.9]]), np.array([True, False, True]), 5)
    assert labels.tolist() == [0, -1, 1]


def test_form_segments_checks_shapes():
    with pytest.raises(ValueError, match="do not fit 2 classes"):
        _segments([[0.5, 0.5]], [True])


def test_window_plan_worked_by_hand():
    # 10 frames, windows of 6 with a margin of 1: centres of 6 - 2 = 4 frames.
    plan = plan_windows(10, 6, 1)
    assert [(w.start, w.stop, w.keep_start, w.keep_stop) for w in plan] == [
        (0, 6, 0, 4),  # at the start: no left context to give, the window stays inside
        (3, 9, 4, 8),  # one frame of context on each side
        (4, 10, 8, 10),  # the last window ends with the sequence
    ]
    assert plan_windows(6, 6, 1) == [plan_windows(6, 6, 1)[0]] and plan_windows(6, 6, 1)[0].keep_stop == 6
    assert plan_windows(0, 6, 1) == []


@pytest.mark.parametrize("n_frames", [7, 50, 301, 1000])
def test_window_centres_tile_the_sequence_with_at_least_the_margin(n_frames):
    window, margin = 40, 12
    plan = plan_windows(n_frames, window, margin)
    covered = np.zeros(n_frames, dtype=int)
    for w in plan:
        covered[w.keep_start : w.keep_stop] += 1
        assert w.start <= w.keep_start < w.keep_stop <= w.stop <= n_frames
        if n_frames > window:
            assert w.stop - w.start == window  # all windows alike: one unpadded batch
        assert w.keep_start - w.start >= margin or w.start == 0
        assert w.stop - w.keep_stop >= margin or w.stop == n_frames
    assert (covered == 1).all()


def test_timeline_config_refuses_windows_without_a_centre():
    with pytest.raises(ValueError, match="twice margin_frames"):
        TimelineConfig(window_frames=100, margin_frames=50)
    with pytest.raises(ValueError):
        plan_windows(10, 4, 2)


def test_span_agreement_worked_by_hand():
    # 10 frames (centres 0.1, 0.2, ..., 1.0 s); frames 0 and 9 not scored.
    probabilities = np.zeros((10, 3))
    probabilities[:, 2] = 1.0
    scored = np.array([False] + [True] * 8 + [False])
    segments = (
        Segment(0.0, 0.0, "neutral", 1.0, 1, 1, 5),  # frames 1..4 neutral
        Segment(0.0, 0.0, "anger", 1.0, 0, 5, 7),  # frames 5, 6 anger; 7, 8 none
    )
    timeline = Timeline(segments, probabilities, scored, np.zeros((10, 2)), CLASSES, STEP, WINDOW, 1.1)
    spans = [{"start": 0.0, "end": 0.45, "emotion": "neutral"}, {"start": 0.45, "end": 1.1, "emotion": "anger"}]
    result = span_agreement(timeline, spans)
    # neutral span: centres 0.1..0.4 -> frames 0..3, scored 1..3, all neutral: 3 of 3
    # anger span: centres 0.5..1.0 -> frames 4..9, scored 4..8: frame 4 neutral (wrong), 5, 6 anger, 7, 8 none: 2 of 5
    assert result.n_frames == 8
    assert result.agreement == pytest.approx(5 / 8)
    assert result.per_emotion == {"anger": (pytest.approx(0.4), 5), "neutral": (pytest.approx(1.0), 3)}
    assert result.parts_found == 0.5 and result.n_parts == 2


def test_class_names_of_index_and_name_models():
    model = CTCBLSTM()
    model.classes_ = np.array([0, 1, 2])
    assert class_names(model, ["anger", "neutral", "sadness"]) == ("anger", "neutral", "sadness")
    with pytest.raises(ValueError, match="not indices"):
        class_names(model, ["anger", "neutral"])
    model.classes_ = np.array(["anger", "neutral"])
    assert class_names(model) == ("anger", "neutral")
    with pytest.raises(ValueError, match="differ"):
        class_names(model, ["neutral", "anger"])
