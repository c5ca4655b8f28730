"""The emotion timeline of a recording: where in time a CTC model hears which emotion.

The paper's conclusion names CTC's second advantage: it "can predict the sequence of emotions for
one utterance" and allows for parts of a recording that carry no emotion. This module turns a
fitted :class:`~models_app.ser.methods.ctc.CTCBLSTM` and a recording of any length into

- per-frame probabilities, shape ``(n_frames, K + 1)``: columns 0..K-1 follow the model's
  ``classes_``, column K is **"none"**: the network's blank where the network scored the frame,
  1.0 where it did not (see *Frames* below). Rows sum to 1;
- segments ``(start_s, end_s, emotion, confidence)``.

Frames
    Features are computed once over the whole recording with every frame kept, so frame ``i``
    starts at ``i * frame_step_s`` (the ``full`` layout). The model was trained with its own frame
    selection (the authors': the first and last frame and every frame with energy <= 1e-4 never
    reached the network), so the same selection is applied here and the network runs on the kept
    frames only, concatenated as in training. Its outputs are mapped back to their frame times.
    Frames it did not score, and the first ``discard_first_outputs`` outputs of the recording
    (their CTC loss was never computed in training, so they are untrained), say "none".

Windows
    A BLSTM run over minutes of frames would work, but its cost and memory grow with the
    recording and it never saw sequences longer than a few seconds in training. The kept-frame
    sequence is therefore cut into overlapping windows of ``window_frames``; each window
    contributes only its centre ``window_frames - 2 * margin_frames`` frames and throws away
    ``margin_frames`` of context on each side (except at the recording's ends), so every frame's
    output was computed with at least ``margin_frames`` of context on both sides. The LSTM's
    memory of frames further away than the margin has faded, so the pieces join without seams
    (docs/timeline.md gives the measured differences: 5e-7 at the default margin on a model
    trained on the demo corpus). All windows have the same length, so they run in one batch, and
    no window is ever padded.

Segments
    CTC outputs are peaky: the blank wins almost every frame, and a network trained on one label
    per utterance emits its emotion as a spike of a frame or two at a place of its choosing, not
    where the emotion is (measured, docs/timeline.md: one model spiked only on the last speech
    frame of a neutral-then-angry recording; the demo corpus's model spiked, if at all, on the
    first frames it was trained to score, and on 39 of its 60 long utterances no emotion beat the
    blank on any frame). The spikes say *that* an emotion was heard, not *where*; the blank is
    CTC's "not now", not "no emotion". Where is read from the emotion columns with the blank
    taken out:

    1. *Shares*: at every scored frame, ``s_k(t) = p_k(t) / sum_j p_j(t)`` (j over the K
       emotions): which emotion the network leans to at t, however small its non-blank mass.
    2. *Smoothing*: a Gaussian-weighted mean of the shares of the scored frames around t, sigma
       ``smoothing_s`` (a normalised convolution: pauses neither dilute nor shift it).
    3. *Labels*: each scored frame takes the emotion with the largest smoothed share. A pause
       (frames not scored, i.e. silence) of at most ``max_pause_s`` between two frames of the
       same emotion takes that emotion; other pauses and the unscored edges are "none".
    4. *Segments*: the runs of one emotion.

    "No emotion" is thus where there is no speech to judge (the frames the model's own frame
    selection drops). The CTC decoding itself (spikes, best path, beam search) stays available
    from the per-frame probabilities returned.

Confidence
    The mean, over the segment's scored frames, of the network's own (unsmoothed) share of the
    segment's emotion, ``mean_t s_k(t)``, in [0, 1]: 1 means the network never leaned to another
    emotion there; 1/K is no preference among the K emotions.

Times
    Frame ``i`` is taken to stand for the ``frame_step_s`` around its centre:
    ``[i * step + (window - step) / 2, (i + 1) * step + (window - step) / 2)`` seconds, so
    consecutive frames tile time without overlap. A segment of frames ``[a, b)`` spans from the
    start of frame a to the end of frame b - 1, clipped to the recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from models_app.ser.audio import prepare_signal
from models_app.ser.features import ENERGY_COLUMN, FeatureConfig, select_frames, short_term_features
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress

NONE_LABEL = "none"  # the name of the last probability column: no emotion


@dataclass(frozen=True)
class TimelineConfig:
    """How a timeline is computed. Frames are the feature frames (100 ms apart in the paper)."""

    # 50 s of frames per network pass: the margins then cost 2/3 more work than one whole pass
    # (a 10-minute recording still takes well under a second of network time), and a batch of
    # windows of an hour-long recording stays within tens of MB.
    window_frames: int = 500
    # 10 s of context thrown away on each side of a window. Measured on a CTC model trained on the
    # demo corpus, over a 145 s recording: the largest probability difference between windowed and
    # whole-sequence outputs was 5e-7 with a 100-frame margin, 7e-4 with 50 and 0.016 with 10
    # (the LSTM's memory of far-away frames fades slowly, not within the paper's 7.8 s training
    # length). docs/timeline.md has the table.
    margin_frames: int = 100
    # Windows per forward pass: the progress bar moves once per batch; results do not depend on it.
    windows_per_batch: int = 16
    # Gaussian sigma of the evidence smoothing: about one word (the paper's frame length, 200 ms,
    # is "the approximate duration of one word"), so the evidence of neighbouring words is pooled
    # but a change of emotion between sentences is not blurred away.
    smoothing_s: float = 0.5
    # A segment grows over a pause (frames not scored: silence) no longer than this: the pause
    # between sentences of one speaker (the demo corpus puts 0.12-0.6 s between them), not a gap
    # between turns.
    max_pause_s: float = 1.0

    def __post_init__(self) -> None:
        if self.margin_frames < 0:
            raise ValueError("margin_frames must be 0 or more")
        if self.window_frames <= 2 * self.margin_frames:
            raise ValueError(
                f"window_frames ({self.window_frames}) must exceed twice margin_frames ({self.margin_frames}): "
                "otherwise a window keeps no frames"
            )
        if self.windows_per_batch < 1:
            raise ValueError("windows_per_batch must be at least 1")
        if self.smoothing_s < 0 or self.max_pause_s < 0:
            raise ValueError("smoothing_s and max_pause_s must be 0 or more")


@dataclass(frozen=True)
class Segment:
    """One emotion over one stretch of time. Times in seconds from the recording's start."""

    start_s: float
    end_s: float
    emotion: str
    confidence: float  # see the module docstring: the emotion's share of the non-blank probability
    emotion_index: int  # column of ``Timeline.probabilities`` (index into the model's classes)
    start_frame: int  # frames [start_frame, end_frame) of the recording
    end_frame: int

    def to_dict(self) -> dict:
        return {"start": self.start_s, "end": self.end_s, "emotion": self.emotion, "confidence": self.confidence}


@dataclass(frozen=True)
class Timeline:
    """The timeline of one recording.

    probabilities: (n_frames, K + 1) float64; columns ``classes`` then "none"; rows sum to 1.
    scored: (n_frames,) bool, True where the network scored the frame.
    shares: (n_frames, K) float64, the smoothed emotion shares (blank taken out) the segments were
    formed from; rows of frames with no scored frame nearby are 0.
    frame_step_s, window_s: the feature frames' step and length in seconds; frame i starts at
    i * frame_step_s. duration_s: the recording's length in seconds.
    """

    segments: tuple[Segment, ...]
    probabilities: np.ndarray
    scored: np.ndarray
    shares: np.ndarray
    classes: tuple[str, ...]
    frame_step_s: float
    window_s: float
    duration_s: float

    @property
    def n_frames(self) -> int:
        return int(self.probabilities.shape[0])

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.classes, NONE_LABEL)

    def frame_centres_s(self) -> np.ndarray:
        """(n_frames,) the centre of each frame in seconds."""
        return np.arange(self.n_frames) * self.frame_step_s + self.window_s / 2

    def frame_labels(self) -> np.ndarray:
        """(n_frames,) int: the segment emotion index of each frame, -1 outside every segment."""
        labels = np.full(self.n_frames, -1, dtype=np.int64)
        for segment in self.segments:
            labels[segment.start_frame : segment.end_frame] = segment.emotion_index
        return labels


# --- features ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingFeatures:
    """All frames of a recording and which of them the model's frame selection keeps.

    matrix: (n_kept, 34) float32, the kept frames in time order (what the network sees).
    kept_index: (n_kept,) int64, the frame number of each kept row.
    n_frames: all frames of the recording; frame i starts at i * frame_step_s seconds.
    """

    matrix: np.ndarray
    kept_index: np.ndarray
    n_frames: int
    frame_step_s: float
    window_s: float
    duration_s: float


def recording_features(samples: np.ndarray, sample_rate: int, feature_config: FeatureConfig) -> RecordingFeatures:
    """Features of a whole recording under the model's ``feature_config``.

    samples: (n,) or (n, channels), int PCM or float in [-1, 1]; sample_rate in Hz (any: the
    signal is resampled to feature_config.sample_rate). Features are computed once with every
    frame kept, then the model's own frame selection (edge frames, silent frames) picks the rows
    the network will see. Raises audio.InvalidAudio for NaN or infinite samples.
    """
    config = feature_config
    prepared = prepare_signal(samples, sample_rate, target_rate=config.sample_rate, normalised=config.normalise)
    all_frames = short_term_features(  # (n_frames, 34) float64: every frame, frame i at i * step
        prepared,
        config.sample_rate,
        config.window_samples,
        config.step_samples,
        rolloff_fraction=config.rolloff_fraction,
        n_entropy_blocks=config.n_entropy_blocks,
    )
    # Select on the float64 energies, exactly as the training features were selected.
    kept = select_frames(all_frames[:, ENERGY_COLUMN], drop_edge_frames=config.drop_edge_frames, min_energy=config.min_energy)
    return RecordingFeatures(
        matrix=all_frames[kept].astype(np.float32),
        kept_index=kept.astype(np.int64),
        n_frames=int(all_frames.shape[0]),
        frame_step_s=feature_config.step_s,
        window_s=feature_config.window_s,
        duration_s=float(np.asarray(samples).shape[0]) / float(sample_rate),
    )


# --- windows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Frames [start, stop) go through the network; frames [keep_start, keep_stop) are kept."""

    start: int
    stop: int
    keep_start: int
    keep_stop: int


def plan_windows(n_frames: int, window_frames: int, margin_frames: int) -> list[Window]:
    """Cover ``n_frames`` with windows whose kept centres tile [0, n_frames) exactly.

    A sequence no longer than one window is one window (the whole). Otherwise every window is
    exactly ``window_frames`` long (so all run in one batch, unpadded) and its kept part has at
    least ``margin_frames`` of context on each side, except where it touches the sequence's ends.
    """
    if window_frames <= 2 * margin_frames:
        raise ValueError("window_frames must exceed twice margin_frames")
    if n_frames <= 0:
        return []
    if n_frames <= window_frames:
        return [Window(0, n_frames, 0, n_frames)]
    stride = window_frames - 2 * margin_frames
    windows = []
    for keep_start in range(0, n_frames, stride):
        keep_stop = min(keep_start + stride, n_frames)
        start = min(max(keep_start - margin_frames, 0), n_frames - window_frames)
        windows.append(Window(start, start + window_frames, keep_start, keep_stop))
    return windows


def windowed_frame_proba(
    estimator,
    matrix: np.ndarray,
    *,
    window_frames: int,
    margin_frames: int,
    windows_per_batch: int = 16,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Per-frame CTC probabilities of one long frame sequence, computed window by window.

    estimator: a fitted CTCBLSTM. matrix: (n, F) features of the frames the network sees.
    Returns (n, K + 1) float64, columns ``estimator.classes_`` then the blank.
    """
    n = int(matrix.shape[0])
    n_outputs = len(estimator.classes_) + 1
    result = np.empty((n, n_outputs))
    windows = plan_windows(n, window_frames, margin_frames)
    progress = progress or ignore_progress
    for first in range(0, len(windows), windows_per_batch):
        batch = windows[first : first + windows_per_batch]
        outputs = estimator.predict_frame_proba([matrix[w.start : w.stop] for w in batch])
        for window, output in zip(batch, outputs):
            offset = window.keep_start - window.start
            result[window.keep_start : window.keep_stop] = output[offset : offset + window.keep_stop - window.keep_start]
        progress(ProgressEvent(stage="timeline", done=first + len(batch), total=len(windows), detail={"unit": "windows"}))
    return result


# --- segments ---------------------------------------------------------------------------------


def emotion_shares(probabilities: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """Each frame's emotion probabilities with the blank taken out: p_k(t) / sum_j p_j(t).

    probabilities: (T, K + 1), the last column the blank; scored: (T,) bool. Returns (T, K);
    rows of unscored frames, and of frames with no emotion probability at all, are 0.
    """
    emotions = np.asarray(probabilities, dtype=np.float64)[:, :-1]  # (T, K)
    mass = emotions.sum(axis=1)  # (T,) = 1 - p_blank(t)
    usable = np.asarray(scored, dtype=bool) & (mass > 0)
    shares = np.zeros_like(emotions)
    shares[usable] = emotions[usable] / mass[usable, None]
    return shares


def smooth_shares(shares: np.ndarray, usable: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian-weighted mean of the shares of the usable frames around each frame.

    shares: (T, K); usable: (T,) bool; sigma_frames: the Gaussian's sigma in frames (0 = no
    smoothing). Only usable frames are averaged (a normalised convolution), so a pause neither
    dilutes nor shifts the evidence. Returns (T, K); rows with no usable frame within 4 sigma are 0.
    """
    weight = np.asarray(usable, dtype=np.float64)  # (T,)
    if sigma_frames <= 0:
        return shares * weight[:, None]
    # mode="constant": nothing beyond the recording's ends (no mirrored evidence).
    numerator = gaussian_filter1d(shares * weight[:, None], sigma_frames, axis=0, mode="constant", truncate=4.0)
    denominator = gaussian_filter1d(weight, sigma_frames, mode="constant", truncate=4.0)
    smoothed = np.zeros_like(shares)
    reached = denominator > 1e-12
    smoothed[reached] = numerator[reached] / denominator[reached, None]
    return smoothed


def frame_emotions(smoothed: np.ndarray, usable: np.ndarray, max_pause_frames: int) -> np.ndarray:
    """(T,) int: each frame's emotion index, -1 for none.

    A usable frame takes the emotion with the largest smoothed share (ties: the lower index). A
    pause (a run of frames that are not usable) of at most ``max_pause_frames`` between two frames
    of the same emotion takes that emotion; any other pause, and the recording's unscored edges,
    stay none.
    """
    n_frames = smoothed.shape[0]
    labels = np.full(n_frames, -1, dtype=np.int64)
    labels[usable] = np.argmax(smoothed[usable], axis=1)
    usable_index = np.flatnonzero(usable)
    for before, after in zip(usable_index[:-1], usable_index[1:]):
        gap = after - before - 1
        if 0 < gap <= max_pause_frames and labels[before] == labels[after]:
            labels[before + 1 : after] = labels[before]
    return labels


def smoothed_emotion_shares(
    probabilities: np.ndarray, scored: np.ndarray, *, frame_step_s: float, smoothing_s: float
) -> np.ndarray:
    """(T, K): the smoothed emotion shares the segments are formed from (steps 1 and 2 of the
    module docstring). probabilities (T, K + 1), blank last; scored (T,) bool; seconds."""
    shares = emotion_shares(probabilities, scored)
    return smooth_shares(shares, shares.sum(axis=1) > 0, smoothing_s / frame_step_s)


def form_segments(
    probabilities: np.ndarray,
    scored: np.ndarray,
    *,
    classes: Sequence[str],
    frame_step_s: float,
    window_s: float,
    duration_s: float,
    smoothing_s: float,
    max_pause_s: float,
) -> list[Segment]:
    """Segments from per-frame probabilities (the module docstring gives the rule).

    probabilities: (T, K + 1), the last column the blank; scored: (T,) bool, False for frames the
    network did not score (their rows are ignored). Times in seconds.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scored = np.asarray(scored, dtype=bool)
    n_frames, n_columns = probabilities.shape
    if n_columns != len(classes) + 1 or scored.shape != (n_frames,):
        raise ValueError(
            f"probabilities {probabilities.shape} and scored {scored.shape} do not fit {len(classes)} classes"
        )
    shares = emotion_shares(probabilities, scored)  # (T, K)
    usable = shares.sum(axis=1) > 0
    smoothed = smooth_shares(shares, usable, smoothing_s / frame_step_s)
    labels = frame_emotions(smoothed, usable, int(round(max_pause_s / frame_step_s)))

    offset = (window_s - frame_step_s) / 2  # frame i stands for [i * step + offset, (i + 1) * step + offset)
    segments = []
    t = 0
    while t < n_frames:
        if labels[t] == -1:
            t += 1
            continue
        start, emotion = t, int(labels[t])
        while t < n_frames and labels[t] == emotion:
            t += 1
        inside = usable[start:t]
        segments.append(
            Segment(
                start_s=round(max(0.0, start * frame_step_s + offset), 6),
                end_s=round(min(duration_s, t * frame_step_s + offset), 6),
                emotion=str(classes[emotion]),
                confidence=float(shares[start:t][inside, emotion].mean()),
                emotion_index=emotion,
                start_frame=start,
                end_frame=t,
            )
        )
    return segments


# --- the whole pipeline -----------------------------------------------------------------------


def class_names(estimator, label_names: Sequence[str] | None = None) -> tuple[str, ...]:
    """The emotion name of each of the estimator's classes, in ``classes_`` order.

    Training jobs fit on label indices (classes_ = 0..K-1) and keep the names beside the model
    (``label_names``, index order); an estimator fitted on names needs none.
    """
    classes = list(estimator.classes_)
    if label_names is None:
        return tuple(str(c) for c in classes)
    if all(isinstance(c, (int, np.integer)) for c in classes):
        if any(not 0 <= int(c) < len(label_names) for c in classes):
            raise ValueError(f"the model's classes {classes} are not indices into {list(label_names)}")
        return tuple(str(label_names[int(c)]) for c in classes)
    if [str(c) for c in classes] != [str(n) for n in label_names]:
        raise ValueError(f"the model's classes {classes} differ from the names given {list(label_names)}")
    return tuple(str(c) for c in classes)


def timeline_from_features(
    estimator,
    features: RecordingFeatures,
    *,
    config: TimelineConfig = TimelineConfig(),
    label_names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Timeline:
    """The timeline of a recording whose features are computed (see :func:`recording_features`).
    ``label_names``: see :func:`class_names`."""
    classes = class_names(estimator, label_names)
    n_outputs = len(classes) + 1
    probabilities = np.zeros((features.n_frames, n_outputs))
    probabilities[:, -1] = 1.0  # "none" until the network says otherwise
    scored = np.zeros(features.n_frames, dtype=bool)
    if len(features.kept_index):
        network_proba = windowed_frame_proba(
            estimator,
            features.matrix,
            window_frames=config.window_frames,
            margin_frames=config.margin_frames,
            windows_per_batch=config.windows_per_batch,
            progress=progress,
        )
        # The first outputs were never trained (the authors' CTC loss skipped them): keep them out,
        # unless they are all there is (the decoders read them then too).
        untrained = getattr(estimator, "discard_first_outputs", 0)
        first = untrained if len(features.kept_index) > untrained else 0
        rows = features.kept_index[first:]
        probabilities[rows] = network_proba[first:]
        scored[rows] = True
    segments = form_segments(
        probabilities,
        scored,
        classes=classes,
        frame_step_s=features.frame_step_s,
        window_s=features.window_s,
        duration_s=features.duration_s,
        smoothing_s=config.smoothing_s,
        max_pause_s=config.max_pause_s,
    )
    shares = smoothed_emotion_shares(
        probabilities, scored, frame_step_s=features.frame_step_s, smoothing_s=config.smoothing_s
    )
    return Timeline(
        segments=tuple(segments),
        probabilities=probabilities,
        scored=scored,
        shares=shares,
        classes=classes,
        frame_step_s=features.frame_step_s,
        window_s=features.window_s,
        duration_s=features.duration_s,
    )


def emotion_timeline(
    estimator,
    samples: np.ndarray,
    sample_rate: int,
    *,
    feature_config: FeatureConfig,
    config: TimelineConfig = TimelineConfig(),
    label_names: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Timeline:
    """The emotion timeline of one recording.

    estimator: a fitted CTCBLSTM; feature_config: the configuration its training features were
    computed with (its frame selection is reproduced). samples: (n,) or (n, channels), int PCM
    or float in [-1, 1], at ``sample_rate`` Hz (any rate). ``label_names``: the emotion names
    when the estimator was fitted on label indices (see :func:`class_names`). ``progress``
    receives a "features" event, then one "timeline" event per batch of windows.
    """
    progress = progress or ignore_progress
    progress(ProgressEvent(stage="features", done=0, total=1))
    features = recording_features(samples, sample_rate, feature_config)
    progress(ProgressEvent(stage="features", done=1, total=1, detail={"n_frames": features.n_frames}))
    return timeline_from_features(estimator, features, config=config, label_names=label_names, progress=progress)


# --- evaluation against known spans -----------------------------------------------------------


@dataclass(frozen=True)
class SpanAgreement:
    """How well a timeline matches known emotion spans, counted over the frames the network
    scored (speech; silences carry no evidence either way).

    agreement: share of scored frames whose timeline emotion is the true one ("none" counts as
    wrong). per_emotion: the same within each true emotion's spans. parts_found: share of the
    true spans in which most scored frames carry the span's emotion.
    """

    agreement: float
    n_frames: int
    per_emotion: dict
    parts_found: float
    n_parts: int


def span_agreement(timeline: Timeline, spans: Sequence[dict]) -> SpanAgreement:
    """Compare ``timeline`` with ``spans`` ([{"start", "end", "emotion"}], seconds, as
    Utterance.emotion_spans). A frame belongs to the span holding its centre; frames outside
    every span, or whose true emotion the model does not know, are not counted."""
    centres = timeline.frame_centres_s()
    predicted = timeline.frame_labels()
    index = {name: i for i, name in enumerate(timeline.classes)}
    hits, counted = 0, 0
    per_emotion: dict[str, list[int]] = {}
    parts_found, n_parts = 0, 0
    for span in spans:
        emotion = span["emotion"]
        if emotion not in index:
            continue
        inside = timeline.scored & (centres >= span["start"]) & (centres < span["end"])
        n_inside = int(inside.sum())
        if not n_inside:
            continue
        correct = int(np.sum(predicted[inside] == index[emotion]))
        hits, counted = hits + correct, counted + n_inside
        totals = per_emotion.setdefault(emotion, [0, 0])
        totals[0] += correct
        totals[1] += n_inside
        n_parts += 1
        parts_found += int(correct * 2 > n_inside)
    return SpanAgreement(
        agreement=hits / counted if counted else float("nan"),
        n_frames=counted,
        per_emotion={emotion: (c / n if n else float("nan"), n) for emotion, (c, n) in sorted(per_emotion.items())},
        parts_found=parts_found / n_parts if n_parts else float("nan"),
        n_parts=n_parts,
    )
