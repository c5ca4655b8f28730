"""The emotion timeline's pieces on hand-made numbers worked out by hand (models_app/ser/timeline.py):
segments, windows, the taper, the exact single-emotion posteriors, span agreement."""

import numpy as np
import pytest

from models_app.ser import decoding
from models_app.ser.methods import CTCBLSTM
from models_app.ser.timeline import (
    Segment,
    Timeline,
    TimelineConfig,
    class_names,
    form_segments,
    frame_emotions,
    plan_windows,
    single_emotion_posteriors,
    span_agreement,
    window_taper,
)

CLASSES = ("anger", "neutral")
STEP, WINDOW = 0.1, 0.2  # the paper's frames: frame i stands for [i * 0.1 + 0.05, i * 0.1 + 0.15) s


def _segments(probabilities, scored, *, max_pause_s=0.2, duration_s=0.9):
    return form_segments(
        np.array(probabilities, dtype=float),
        np.array(scored, dtype=bool),
        classes=CLASSES,
        frame_step_s=STEP,
        window_s=WINDOW,
        duration_s=duration_s,
        max_pause_s=max_pause_s,
    )


def _summary(segments):
    return [
        (s.emotion, s.start_frame, s.end_frame, round(s.start_s, 6), round(s.end_s, 6), round(s.confidence, 6))
        for s in segments
    ]


# --- segments ---------------------------------------------------------------------------------


def test_segments_worked_by_hand():
    # Columns: anger, neutral, none. Frame by frame, the larger emotion wins ("none" never does):
    # 0: anger .5 > neutral .2              -> anger
    # 1: anger .7                            -> anger
    # 2: not scored, between anger and neutral -> none (a pause takes an emotion only between equals)
    # 3: neutral .6                          -> neutral
    # 4: not scored, 1 frame between neutral and neutral (max pause 2 frames) -> neutral
    # 5: neutral .2 > anger .1, although none (.7) is larger -> neutral
    # 6, 7: not scored, at the end           -> none
    probabilities = [
        [0.5, 0.2, 0.3],
        [0.7, 0.2, 0.1],
        [0.0, 0.0, 1.0],
        [0.3, 0.6, 0.1],
        [0.0, 0.0, 1.0],
        [0.1, 0.2, 0.7],
        [0.0, 0.0, 1.0],
        [0.0, 0.0, 1.0],
    ]
    scored = [True, True, False, True, False, True, False, False]
    segments = _segments(probabilities, scored)
    # anger: frames [0, 2) -> 0.05 s to 0.25 s; confidence mean(.5, .7) = .6
    # neutral: frames [3, 6) -> 0.35 s to 0.65 s; confidence over the scored frames 3 and 5: mean(.6, .2) = .4
    assert _summary(segments) == [
        ("anger", 0, 2, 0.05, 0.25, 0.6),
        ("neutral", 3, 6, 0.35, 0.65, 0.4),
    ]
    assert segments[1].to_dict() == {"start": 0.35, "end": 0.65, "emotion": "neutral", "confidence": pytest.approx(0.4)}


def test_a_pause_longer_than_max_pause_splits_a_segment():
    # anger, 3 unscored frames, anger: with max_pause 0.2 s (2 frames) the pause is too long.
    probabilities = [[0.6, 0.2, 0.2]] * 2 + [[0, 0, 1]] * 3 + [[0.8, 0.1, 0.1]] * 2
    scored = [True, True, False, False, False, True, True]
    split = _segments(probabilities, scored, max_pause_s=0.2)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in split] == [("anger", 0, 2), ("anger", 5, 7)]
    joined = _segments(probabilities, scored, max_pause_s=0.3)
    assert [(s.emotion, s.start_frame, s.end_frame) for s in joined] == [("anger", 0, 7)]
    assert joined[0].confidence == pytest.approx(0.7)  # (.6 + .6 + .8 + .8) / 4: the pause does not count


def test_segment_end_is_clipped_to_the_recording():
    segments = _segments([[0.5, 0.1, 0.4]] * 3, [True] * 3, duration_s=0.3)
    # frames [0, 3) would end at 3 * 0.1 + 0.05 = 0.35 s, past the 0.3 s recording
    assert (segments[0].start_s, segments[0].end_s) == (0.05, 0.3)


def test_nothing_scored_gives_no_segments():
    assert _segments([[0, 0, 1]] * 4, [False] * 4) == []
    assert _segments(np.zeros((0, 3)), np.zeros(0, dtype=bool)) == []


def test_frame_emotions_ties_and_pauses():
    # ties go to the lower index; a pause between two different emotions is none
    labels = frame_emotions(np.array([[0.4, 0.4, 0.2], [0, 0, 1], [0.1, 0.5, 0.4]]), np.array([True, False, True]), 5)
    assert labels.tolist() == [0, -1, 1]


def test_form_segments_checks_shapes():
    with pytest.raises(ValueError, match="do not fit 2 classes"):
        _segments([[0.5, 0.5]], [True])


# --- windows and the taper --------------------------------------------------------------------


def test_window_plan_worked_by_hand():
    # 12 frames, windows of 5 every 3: starts 0, 3, 6, and 7 so that the last window ends with frame 11.
    assert plan_windows(12, 5, 3).tolist() == [0, 3, 6, 7]
    assert plan_windows(11, 5, 3).tolist() == [0, 3, 6]  # 6 + 5 = 11: already ends with the sequence
    assert plan_windows(5, 5, 3).tolist() == [0]
    assert plan_windows(3, 5, 3).tolist() == [0]  # shorter than a window: one window of 3 frames
    assert plan_windows(0, 5, 3).tolist() == []


@pytest.mark.parametrize("n_frames", [1, 7, 20, 21, 301])
def test_windows_cover_every_frame(n_frames):
    window, hop = 20, 5
    covered = np.zeros(n_frames, dtype=int)
    for start in plan_windows(n_frames, window, hop):
        covered[start : start + min(window, n_frames)] += 1
    assert (covered >= 1).all()
    if n_frames >= 2 * window:  # away from the ends, every frame is in window / hop windows
        assert (covered[window:-window] == window // hop).all()


def test_taper_is_positive_symmetric_and_peaks_in_the_centre():
    taper = window_taper(5)
    # np.hanning(7)[1:-1] = 0.5 - 0.5 cos(2 pi k / 6) for k = 1..5
    np.testing.assert_allclose(taper, [0.25, 0.75, 1.0, 0.75, 0.25])
    assert window_taper(1).tolist() == [1.0]


def test_timeline_config_checks():
    with pytest.raises(ValueError, match="must not exceed window_frames"):
        TimelineConfig(window_frames=10, hop_frames=11)
    with pytest.raises(ValueError):
        TimelineConfig(window_frames=0)
    with pytest.raises(ValueError):
        plan_windows(10, 4, 5)


# --- the exact single-emotion posteriors ------------------------------------------------------


def test_single_emotion_posteriors_worked_by_hand():
    # Two frames, emotions a and b, blank last.
    #   frame 0: a .5, b .2, blank .3;  frame 1: a .1, b .6, blank .3
    # p(())   = blank blank                 = .3 * .3                         = .09
    # p((a,)) = a a + a blank + blank a     = .05 + .15 + .03                 = .23
    # p((b,)) = b b + b blank + blank b     = .12 + .06 + .18                 = .36
    # (a, b) = .30 and (b, a) = .02 are two emotions: left out; normalised over .68
    posteriors = single_emotion_posteriors(np.array([[[0.5, 0.2, 0.3], [0.1, 0.6, 0.3]]]), blank=2)
    np.testing.assert_allclose(posteriors, [[0.23 / 0.68, 0.36 / 0.68, 0.09 / 0.68]], rtol=1e-12)
    # One emotion: every path is () or (a,), so nothing is left out: .72 and .28.
    one = single_emotion_posteriors(np.array([[[0.6, 0.4], [0.3, 0.7]]]), blank=1)
    np.testing.assert_allclose(one, [[0.6 * 0.3 + 0.6 * 0.7 + 0.4 * 0.3, 0.4 * 0.7]], rtol=1e-12)


def test_single_emotion_posteriors_agree_with_the_decoders_forward_algorithm():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 15, 5)) * 3
    frames = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)  # (6 windows, 15 frames, 4 + blank)
    posteriors = single_emotion_posteriors(frames, blank=4)
    for window, posterior in zip(frames, posteriors, strict=True):
        log_single = decoding.single_label_log_probabilities(window, 4)
        log_empty = np.log(window[:, 4]).sum()
        expected = np.exp(np.append(log_single, log_empty) - np.logaddexp.reduce(np.append(log_single, log_empty)))
        np.testing.assert_allclose(posterior, expected, rtol=1e-10)


# --- span agreement ---------------------------------------------------------------------------


def test_span_agreement_worked_by_hand():
    # 10 frames (centres 0.1, 0.2, ..., 1.0 s); frames 0 and 9 not scored.
    probabilities = np.zeros((10, 3))
    probabilities[:, 2] = 1.0
    scored = np.array([False] + [True] * 8 + [False])
    segments = (
        Segment(0.0, 0.0, "neutral", 1.0, 1, 1, 5),  # frames 1..4 neutral
        Segment(0.0, 0.0, "anger", 1.0, 0, 5, 7),  # frames 5, 6 anger; 7, 8 none
    )
    timeline = Timeline(segments, probabilities, scored, CLASSES, STEP, WINDOW, 1.1)
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
