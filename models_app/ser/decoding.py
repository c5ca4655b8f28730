"""Reading labels out of a CTC network's per-frame probabilities (pure numpy).

Every function takes ``probs``, an array of shape ``(T, C)``: frame ``t``'s probability of each of
the ``C = K + 1`` outputs (K emotions and the blank), rows summing to 1, and ``blank``, the blank's
column. A *labeling* is a tuple of emotion indices (blanks and repeats collapsed: the paper's
mapping M). A *span* is ``(emotion_index, start_frame, end_frame)`` with ``end_frame`` exclusive,
in the frame indices of ``probs``.

Decoders:

- :func:`best_path`: collapse the most probable path (the frame-wise argmax).
- :func:`prefix_beam_search`: the paper's decoder (Graves 2006; the authors ran width 100).
- :func:`single_label_log_probabilities`: the exact ``log p((k,) | X)`` of every one-emotion
  labeling, by the CTC forward algorithm: the exact answer to "which single emotion is most
  probable" that both heuristics approximate.
"""

from __future__ import annotations

import math

import numpy as np

Span = tuple[int, int, int]
_LOG_FLOOR = 1e-30  # log(0) guard: probabilities below this are treated as this


def _log(probs: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(probs, dtype=np.float64), _LOG_FLOOR))


def _check(probs: np.ndarray, blank: int) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must have shape (T, K+1) with K >= 1, got {probs.shape}")
    if not 0 <= blank < probs.shape[1]:
        raise ValueError(f"blank index {blank} outside 0..{probs.shape[1] - 1}")
    return probs


def collapse(path, blank: int) -> tuple[int, ...]:
    """The paper's mapping M: merge consecutive repeats, then delete blanks."""
    labeling = []
    previous = None
    for symbol in path:
        symbol = int(symbol)
        if symbol != previous and symbol != blank:
            labeling.append(symbol)
        previous = symbol
    return tuple(labeling)


def best_path(probs: np.ndarray, blank: int) -> tuple[int, ...]:
    """Collapse of the frame-wise argmax path. ``probs`` (T, K+1) -> labeling."""
    probs = _check(probs, blank)
    return collapse(np.argmax(probs, axis=1), blank)


def best_path_spans(probs: np.ndarray, blank: int) -> list[Span]:
    """The best path's emotions with the frames where the path holds them (end exclusive)."""
    probs = _check(probs, blank)
    path = np.argmax(probs, axis=1)
    spans: list[Span] = []
    start = 0
    for t in range(1, len(path) + 1):
        if t == len(path) or path[t] != path[start]:
            if path[start] != blank:
                spans.append((int(path[start]), start, t))
            start = t
    return spans


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    if a > b:
        return a + math.log1p(math.exp(b - a))
    return b + math.log1p(math.exp(a - b))


def prefix_beam_search(probs: np.ndarray, blank: int, beam_width: int = 100) -> list[tuple[tuple[int, ...], float]]:
    """CTC prefix beam search.

    probs: (T, K+1). Returns up to ``beam_width`` ``(labeling, log_probability)`` pairs, most
    probable first; the probability of a labeling is summed over all its alignments that stayed
    in the beam (so it is a lower bound of the exact labeling probability). Ties are broken by the
    labeling itself so the result never depends on dictionary order.
    """
    probs = _check(probs, blank)
    if beam_width < 1:
        raise ValueError("beam_width must be at least 1")
    log_probs = _log(probs)
    n_outputs = probs.shape[1]
    symbols = [c for c in range(n_outputs) if c != blank]
    # prefix -> [log p(prefix, path ends in blank), log p(prefix, path ends in its last symbol)]
    beams: dict[tuple[int, ...], list[float]] = {(): [0.0, -math.inf]}
    if len(log_probs) == 0:
        return [((), 0.0)]
    for frame in log_probs:
        frame_blank = float(frame[blank])
        frame_symbols = [float(frame[c]) for c in symbols]
        candidates: dict[tuple[int, ...], list[float]] = {}
        for prefix, (p_blank, p_symbol) in beams.items():
            p_total = _logaddexp(p_blank, p_symbol)
            stay = candidates.setdefault(prefix, [-math.inf, -math.inf])
            stay[0] = _logaddexp(stay[0], p_total + frame_blank)
            last = prefix[-1] if prefix else None
            for c, log_p in zip(symbols, frame_symbols, strict=True):
                extended = candidates.setdefault(prefix + (c,), [-math.inf, -math.inf])
                if c == last:
                    # Repeating the last symbol without a blank in between stays on the prefix;
                    # only a path that ended in blank starts a second copy.
                    stay[1] = _logaddexp(stay[1], p_symbol + log_p)
                    extended[1] = _logaddexp(extended[1], p_blank + log_p)
                else:
                    extended[1] = _logaddexp(extended[1], p_total + log_p)
        # Prefixes no path can reach (e.g. a repeat right after the same symbol) are dropped.
        reachable = [item for item in candidates.items() if _logaddexp(*item[1]) > -math.inf]
        reachable.sort(key=lambda item: (-_logaddexp(*item[1]), item[0]))
        beams = dict(reachable[:beam_width])
    result = [(prefix, _logaddexp(*scores)) for prefix, scores in beams.items()]
    result.sort(key=lambda item: (-item[1], item[0]))
    return result


def labeling_log_probability(probs: np.ndarray, labeling, blank: int) -> float:
    """Exact ``log p(labeling | X)`` by the CTC forward algorithm (Graves 2006, eq. 5-8).

    probs: (T, K+1); labeling: sequence of emotion indices. Returns -inf when the labeling needs
    more frames than there are.

    The methods do not call it (the exact decoder needs only its one-emotion case,
    :func:`single_label_log_probabilities`). It stays as the reference the decoders are checked
    against: the beam search's summed paths must equal it (tests/ser/test_decoding.py), and it
    is checked against torch's CTC loss.
    """
    probs = _check(probs, blank)
    log_probs = _log(probs)
    extended = [blank]
    for symbol in labeling:
        extended += [int(symbol), blank]
    n_states = len(extended)
    n_frames = len(log_probs)
    if n_frames == 0:
        return 0.0 if not labeling else -math.inf
    alpha = np.full(n_states, -np.inf)
    alpha[0] = log_probs[0, blank]
    if n_states > 1:
        alpha[1] = log_probs[0, extended[1]]
    # A state may be entered from two back when it is a symbol different from the one before the blank.
    can_skip = np.array([s >= 2 and extended[s] != blank and extended[s] != extended[s - 2] for s in range(n_states)])
    for t in range(1, n_frames):
        previous = alpha
        from_one_back = np.concatenate(([-np.inf], previous[:-1]))
        from_two_back = np.where(can_skip, np.concatenate(([-np.inf, -np.inf], previous[:-2])), -np.inf)
        alpha = np.logaddexp(np.logaddexp(previous, from_one_back), from_two_back) + log_probs[t, extended]
    if n_states == 1:
        return float(alpha[0])
    return float(np.logaddexp(alpha[-1], alpha[-2]))


def single_label_log_probabilities(probs: np.ndarray, blank: int) -> np.ndarray:
    """Exact ``log p((k,) | X)`` for every emotion k: the labeling that is exactly one emotion.

    probs: (T, K+1). Returns (K,) in the order of the non-blank columns. The paths of the
    labeling (k,) are blank* k+ blank*, so three forward variables per emotion suffice:
    all blanks so far (shared), inside the k run, and in the trailing blanks.
    """
    probs = _check(probs, blank)
    log_probs = _log(probs)
    emotion_columns = [c for c in range(probs.shape[1]) if c != blank]
    log_blank = log_probs[:, blank]  # (T,)
    log_emotion = log_probs[:, emotion_columns]  # (T, K)
    if len(log_probs) == 0:
        return np.full(len(emotion_columns), -np.inf)
    only_blanks = log_blank[0]
    in_emotion = log_emotion[0].copy()
    after_emotion = np.full(len(emotion_columns), -np.inf)
    for t in range(1, len(log_probs)):
        after_emotion = np.logaddexp(in_emotion, after_emotion) + log_blank[t]
        in_emotion = np.logaddexp(only_blanks, in_emotion) + log_emotion[t]
        only_blanks = only_blanks + log_blank[t]
    return np.logaddexp(in_emotion, after_emotion)


def most_probable_single_label(probs: np.ndarray, blank: int) -> tuple[int, np.ndarray]:
    """(argmax emotion, normalised probabilities (K,)) of the exact one-emotion labelings."""
    log_p = single_label_log_probabilities(probs, blank)
    shifted = np.exp(log_p - np.max(log_p))
    return int(np.argmax(log_p)), shifted / shifted.sum()


def viterbi_spans(probs: np.ndarray, labeling, blank: int) -> list[Span]:
    """Frame spans of each emotion of ``labeling`` along its single most probable alignment.

    Beam search and the exact decoder give a labeling but not where in time it sits; this places
    it. probs: (T, K+1). Returns one span per symbol of the labeling (end exclusive), or [] for an
    empty labeling. Raises ValueError when the labeling cannot fit in T frames.
    """
    probs = _check(probs, blank)
    labeling = [int(s) for s in labeling]
    if not labeling:
        return []
    log_probs = _log(probs)
    extended = [blank]
    for symbol in labeling:
        extended += [symbol, blank]
    n_states, n_frames = len(extended), len(log_probs)
    score = np.full((n_frames, n_states), -np.inf)
    came_from = np.zeros((n_frames, n_states), dtype=np.int64)
    score[0, 0] = log_probs[0, blank]
    score[0, 1] = log_probs[0, extended[1]]
    for t in range(1, n_frames):
        for s in range(n_states):
            options = [(score[t - 1, s], s)]
            if s >= 1:
                options.append((score[t - 1, s - 1], s - 1))
            if s >= 2 and extended[s] != blank and extended[s] != extended[s - 2]:
                options.append((score[t - 1, s - 2], s - 2))
            best_score, best_state = max(options, key=lambda option: (option[0], -option[1]))
            score[t, s] = best_score + log_probs[t, extended[s]]
            came_from[t, s] = best_state
    final = n_states - 1 if score[-1, -1] >= score[-1, -2] else n_states - 2
    if score[-1, final] == -np.inf:
        raise ValueError(f"labeling {tuple(labeling)} does not fit in {n_frames} frames")
    states = np.empty(n_frames, dtype=np.int64)
    states[-1] = final
    for t in range(n_frames - 1, 0, -1):
        states[t - 1] = came_from[t, states[t]]
    spans = []
    for position, symbol in enumerate(labeling):
        frames = np.flatnonzero(states == 2 * position + 1)
        spans.append((symbol, int(frames[0]), int(frames[-1]) + 1))
    return spans
