"""The emotion timeline of a recording: where in time a CTC model hears which emotion.

The paper's conclusion names CTC's second advantage: it "can predict the sequence of emotions for
one utterance" and allows for parts of a recording that carry no emotion. This module turns a
fitted :class:`~models_app.ser.methods.ctc.CTCBLSTM` and a recording of any length (seconds to an
hour) into

- per-frame probabilities, shape ``(n_frames, K + 1)``: columns 0..K-1 follow the model's
  classes, column K is **"none"** (no emotion). Rows sum to 1;
- segments ``(start_s, end_s, emotion, confidence)``.

Frames
    Features are computed once over the whole recording with every frame kept, so frame ``i``
    starts at ``i * frame_step_s``. The model was trained with its own frame selection (the
    authors': the first and last frame and every frame with energy <= 1e-4 never reached the
    network), so the same selection is applied here: the network sees the kept frames only,
    concatenated as in training, and its results are mapped back to their frame times. Frames
    it does not see (silence, the recording's edges) are "none" with probability 1.

Why short windows, not one pass over the recording
    A network trained on one label per utterance decides per *sequence*: run over a whole
    recording, it emits one spike (a frame or two where an emotion beats the blank) at a place
    of its choosing, and everywhere else the blank takes nearly all the probability; what little
    is left says little about where an emotion is. Measured on the demo corpus's long utterances
    (a neutral and an emotional stretch; docs/timeline.md), with models that never heard their
    speakers: reading each frame's most probable emotion from one pass agreed with the true
    stretches on 69% (fast preset) and 32% (paper preset) of the frames; the paper-preset model
    gave the neutral stretches their emotion on 0.1% of their frames, although it names 52% of
    their frames right when each stretch is given to it alone. So the timeline asks the network
    what it was trained to answer, "which emotion does this stretch carry?", for short stretches
    in turn: 78% and 71% of the frames agree (85% and 67% when the true boundaries are known
    and each stretch is classified whole).

Windows and how they join
    The kept-frame sequence is cut into windows of ``window_frames`` (2 s of speech by default:
    as long as a short training utterance) starting every ``hop_frames`` (0.5 s), the last one
    ending with the sequence; a sequence no longer than one window is one window. For every
    window the network's per-frame outputs give, by the CTC forward algorithm, the exact
    probability of each labeling of at most one emotion: (k,) for each emotion k and the empty
    labeling (only blanks, "none"), normalised among these K + 1 (the paper's design: one emotion
    per utterance; the methods' "exact" decoder). The network's first ``discard_first_outputs``
    outputs of a window are left out, as in training and decoding.

    Each frame's probabilities are the average of the posteriors of the windows that contain it,
    weighted by a Hann taper of each window (largest at its centre, near 0 at its edges). Every
    frame lies in window_frames / hop_frames windows (fewer at the ends), and a window's weight
    fades in and out, so the probabilities change smoothly from frame to frame: there are no
    seams at window boundaries, and no frame depends on a single window's edge. The windows run
    in batches of equal length, so a recording of any length costs memory in proportion to a batch.

Segments
    Each frame the network saw takes the emotion with the largest probability (as the exact
    decoder picks an utterance's emotion; "none" is reported, not chosen: a network trained on
    utterances that each carry one emotion rarely prefers the empty labeling, and when it does,
    in our measurements, it was a poorly trained one, not a silent stretch). A pause (frames not
    seen: silence) of at most ``max_pause_s`` between two frames of the same emotion takes that
    emotion; other pauses and the unseen edges are "none". Segments are the runs of one emotion.

Confidence
    The mean, over the segment's frames the network saw, of the probability of the segment's
    emotion: 1 when every window around them was sure of it; 1/(K+1) is no preference.

Times
    Frame ``i`` is taken to stand for the ``frame_step_s`` around its centre:
    ``[i * step + (window - step) / 2, (i + 1) * step + (window - step) / 2)`` seconds, so
    consecutive frames tile time without overlap. A segment of frames ``[a, b)`` spans from the
    start of frame a to the end of frame b - 1, clipped to the recording.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from models_app.ser.audio import prepare_signal
from models_app.ser.features import ENERGY_COLUMN, FeatureConfig, select_frames, short_term_features
from models_app.ser.features.config import DEFAULT_FEATURE_SET
from models_app.ser.progress import ProgressCallback, ProgressEvent, ignore_progress

NONE_LABEL = "none"  # the name of the last probability column: no emotion
_LOG_FLOOR = 1e-30  # log(0) guard, as in decoding.py


@dataclass(frozen=True)
class TimelineConfig:
    """How a timeline is computed. Frames are the feature frames (100 ms apart in the paper)."""

    # 2 s of speech per CTC decision: the length of a short training utterance (the demo corpus's
    # short ones last 1.5-4 s). Measured on its long utterances, models of speakers they never
    # heard (docs/timeline.md), frame agreement for the fast / paper presets: 1 s windows
    # 0.755 / 0.549 (too little speech to judge), 1.5 s 0.782 / 0.673, 2 s 0.782 / 0.706,
    # 2.5 s 0.777 / 0.658, 3 s 0.735 / 0.627, 4 s 0.616 / 0.450 (windows straddling both stretches).
    window_frames: int = 20
    # A decision every 0.5 s: each frame is judged by 4 windows, so the taper averages out any
    # single window's quirks; a hop of 0.2 s measured the same (0.781 / 0.701) for 2.5 times the work.
    hop_frames: int = 5
    # Windows per forward pass: the progress bar moves once per batch and memory stays bounded
    # (a batch of 256 paper-preset windows, padded to 78 frames, holds ~50 MB of activations);
    # results do not depend on it.
    windows_per_batch: int = 256
    # A segment spans a pause (frames not seen: silence) no longer than this: the pause between
    # sentences of one speaker (the demo corpus puts 0.12-0.6 s between them), not a gap between turns.
    max_pause_s: float = 1.0

    def __post_init__(self) -> None:
        if self.window_frames < 1 or self.hop_frames < 1:
            raise ValueError("window_frames and hop_frames must be at least 1")
        if self.hop_frames > self.window_frames:
            raise ValueError(
                f"hop_frames ({self.hop_frames}) must not exceed window_frames ({self.window_frames}): "
                "frames between windows would never be judged"
            )
        if self.windows_per_batch < 1:
            raise ValueError("windows_per_batch must be at least 1")
        if self.max_pause_s < 0:
            raise ValueError("max_pause_s must be 0 or more")


@dataclass(frozen=True)
class Segment:
    """One emotion over one stretch of time. Times in seconds from the recording's start."""

    start_s: float
    end_s: float
    emotion: str
    confidence: float  # mean probability of the emotion over the segment's frames the network saw
    emotion_index: int  # column of ``Timeline.probabilities`` (index into the model's classes)
    start_frame: int  # frames [start_frame, end_frame) of the recording
    end_frame: int

    def to_dict(self) -> dict:
        return {"start": self.start_s, "end": self.end_s, "emotion": self.emotion, "confidence": self.confidence}


@dataclass(frozen=True)
class Timeline:
    """The timeline of one recording.

    probabilities: (n_frames, K + 1) float64; columns ``classes`` then "none"; rows sum to 1.
    scored: (n_frames,) bool, True where the network saw the frame.
    frame_step_s, window_s: the feature frames' step and length in seconds; frame i starts at
    i * frame_step_s. duration_s: the recording's length in seconds.
    """

    segments: tuple[Segment, ...]
    probabilities: np.ndarray
    scored: np.ndarray
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
    kept = select_frames(
        all_frames[:, ENERGY_COLUMN], drop_edge_frames=config.drop_edge_frames, min_energy=config.min_energy
    )
    if config.feature_set != DEFAULT_FEATURE_SET:
        # A model trained on an openSMILE set reads that set's descriptors on the same frames.
        from models_app.ser.features.opensmile_sets import frame_descriptors

        decoded = prepare_signal(samples, sample_rate, target_rate=config.sample_rate, normalised=False)
        all_frames = frame_descriptors(
            decoded, config.sample_rate, config.feature_set, all_frames.shape[0], config.window_s, config.step_s
        )
    return RecordingFeatures(
        matrix=all_frames[kept].astype(np.float32),
        kept_index=kept.astype(np.int64),
        n_frames=int(all_frames.shape[0]),
        frame_step_s=feature_config.step_s,
        window_s=feature_config.window_s,
        duration_s=float(np.asarray(samples).shape[0]) / float(sample_rate),
    )


# --- windows ----------------------------------------------------------------------------------


def plan_windows(n_frames: int, window_frames: int, hop_frames: int) -> np.ndarray:
    """(n_windows,) int64 start frames of the windows over a sequence of ``n_frames``.

    Windows start every ``hop_frames`` and are ``window_frames`` long; the last starts where it
    ends with the sequence, so every frame is in at least one window and all windows have the
    same length. A sequence no longer than one window is one window (of its own length).
    """
    if window_frames < 1 or not 1 <= hop_frames <= window_frames:
        raise ValueError("need window_frames >= 1 and 1 <= hop_frames <= window_frames")
    if n_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    if n_frames <= window_frames:
        return np.zeros(1, dtype=np.int64)
    last = n_frames - window_frames
    starts = np.arange(0, last + 1, hop_frames)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts.astype(np.int64)


def window_taper(length: int) -> np.ndarray:
    """(length,) Hann weights without its zero end points: largest at the centre, small at the
    edges, never 0 (so a frame at the sequence's edge, in a single window, still has a weight)."""
    return np.hanning(length + 2)[1:-1]


def single_emotion_posteriors(frame_proba: np.ndarray, blank: int) -> np.ndarray:
    """The exact posterior of each labeling of at most one emotion, for a batch of windows.

    frame_proba: (B, T, K + 1) per-frame CTC outputs (rows sum to 1), ``blank`` its column.
    Returns (B, K + 1): columns 0..K-1 p((k,) | window), column K p(() | window), normalised
    among these K + 1 labelings. The paths of (k,) are blank* k+ blank*, so three forward
    variables per emotion suffice (as decoding.single_label_log_probabilities, vectorised over
    the batch); the empty labeling's only path is all blanks.
    """
    log_p = np.log(np.maximum(np.asarray(frame_proba, dtype=np.float64), _LOG_FLOOR))  # (B, T, C)
    emotions = [c for c in range(log_p.shape[2]) if c != blank]
    log_blank = log_p[:, :, blank]  # (B, T)
    log_emotion = log_p[:, :, emotions]  # (B, T, K)
    only_blanks = log_blank[:, 0]  # (B,)
    in_emotion = log_emotion[:, 0].copy()  # (B, K): paths now inside the emotion's run
    after_emotion = np.full_like(in_emotion, -np.inf)  # (B, K): paths in the trailing blanks
    for t in range(1, log_p.shape[1]):
        after_emotion = np.logaddexp(in_emotion, after_emotion) + log_blank[:, t, None]
        in_emotion = np.logaddexp(only_blanks[:, None], in_emotion) + log_emotion[:, t]
        only_blanks = only_blanks + log_blank[:, t]
    log_labelings = np.concatenate([np.logaddexp(in_emotion, after_emotion), only_blanks[:, None]], axis=1)
    log_labelings -= log_labelings.max(axis=1, keepdims=True)
    posteriors = np.exp(log_labelings)
    return posteriors / posteriors.sum(axis=1, keepdims=True)


def windowed_probabilities(
    estimator,
    matrix: np.ndarray,
    *,
    window_frames: int,
    hop_frames: int,
    windows_per_batch: int = 256,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """Per-frame emotion probabilities of one frame sequence, from overlapping windows.

    estimator: a fitted CTCBLSTM. matrix: (n, F) features of the frames the network sees.
    Returns (n, K + 1) float64: columns ``estimator.classes_`` then "none", each row the
    taper-weighted mean of the posteriors (:func:`single_emotion_posteriors`) of the windows
    holding the frame. Rows sum to 1.
    """
    n = int(matrix.shape[0])
    n_classes = len(estimator.classes_)
    starts = plan_windows(n, window_frames, hop_frames)
    length = min(window_frames, n)
    taper = window_taper(length)
    weighted = np.zeros((n, n_classes + 1))
    weights = np.zeros(n)
    skip = getattr(estimator, "discard_first_outputs", 0)
    skip = skip if length > skip else 0  # the decoders' rule: never skip everything
    progress = progress or ignore_progress
    for first in range(0, len(starts), windows_per_batch):
        batch = starts[first : first + windows_per_batch]
        outputs = estimator.predict_frame_proba([matrix[s : s + length] for s in batch])  # B x (length, K+1)
        posteriors = single_emotion_posteriors(np.stack(outputs)[:, skip:], blank=n_classes)  # (B, K+1)
        for start, posterior in zip(batch, posteriors, strict=True):
            weighted[start : start + length] += taper[:, None] * posterior
            weights[start : start + length] += taper
        progress(
            ProgressEvent(stage="timeline", done=first + len(batch), total=len(starts), detail={"unit": "windows"})
        )
    return weighted / weights[:, None] if n else weighted


# --- segments ---------------------------------------------------------------------------------


def frame_emotions(probabilities: np.ndarray, scored: np.ndarray, max_pause_frames: int) -> np.ndarray:
    """(T,) int: each frame's emotion index, -1 for none.

    probabilities: (T, K + 1), the last column "none"; scored: (T,) bool. A scored frame takes
    the emotion with the largest probability (ties: the lower index). A pause (a run of unscored
    frames) of at most ``max_pause_frames`` between two frames of the same emotion takes that
    emotion; any other pause, and the unscored edges, stay none.
    """
    scored = np.asarray(scored, dtype=bool)
    labels = np.full(scored.size, -1, dtype=np.int64)
    labels[scored] = np.argmax(np.asarray(probabilities)[scored, :-1], axis=1)
    seen = np.flatnonzero(scored)
    for before, after in itertools.pairwise(seen):
        gap = after - before - 1
        if 0 < gap <= max_pause_frames and labels[before] == labels[after]:
            labels[before + 1 : after] = labels[before]
    return labels


def form_segments(
    probabilities: np.ndarray,
    scored: np.ndarray,
    *,
    classes: Sequence[str],
    frame_step_s: float,
    window_s: float,
    duration_s: float,
    max_pause_s: float,
) -> list[Segment]:
    """Segments from per-frame probabilities (the module docstring gives the rule).

    probabilities: (T, K + 1), the last column "none"; scored: (T,) bool, False for frames the
    network did not see (their rows are ignored). Times in seconds.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    scored = np.asarray(scored, dtype=bool)
    n_frames, n_columns = probabilities.shape
    if n_columns != len(classes) + 1 or scored.shape != (n_frames,):
        raise ValueError(
            f"probabilities {probabilities.shape} and scored {scored.shape} do not fit {len(classes)} classes"
        )
    labels = frame_emotions(probabilities, scored, int(round(max_pause_s / frame_step_s)))
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
        seen = scored[start:t]
        segments.append(
            Segment(
                start_s=round(max(0.0, start * frame_step_s + offset), 6),
                end_s=round(min(duration_s, t * frame_step_s + offset), 6),
                emotion=str(classes[emotion]),
                confidence=float(probabilities[start:t][seen, emotion].mean()),
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
    probabilities = np.zeros((features.n_frames, len(classes) + 1))
    probabilities[:, -1] = 1.0  # "none" where the network does not look
    scored = np.zeros(features.n_frames, dtype=bool)
    if len(features.kept_index):
        probabilities[features.kept_index] = windowed_probabilities(
            estimator,
            features.matrix,
            window_frames=config.window_frames,
            hop_frames=config.hop_frames,
            windows_per_batch=config.windows_per_batch,
            progress=progress,
        )
        scored[features.kept_index] = True
    segments = form_segments(
        probabilities,
        scored,
        classes=classes,
        frame_step_s=features.frame_step_s,
        window_s=features.window_s,
        duration_s=features.duration_s,
        max_pause_s=config.max_pause_s,
    )
    return Timeline(
        segments=tuple(segments),
        probabilities=probabilities,
        scored=scored,
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
