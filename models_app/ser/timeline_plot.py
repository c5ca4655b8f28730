"""The emotion timeline as an SVG figure, drawn with matplotlib's object API (no pyplot, so
nothing touches a display or a global figure registry: safe in web workers and threads).

Two panels over one time axis (seconds):

1. the waveform (its min/max envelope) with the segments shaded in their emotion's colour;
2. the per-frame probability of each emotion, and of "none" (dashed grey), that the segments
   were formed from (see timeline.py).

Long recordings are reduced to at most ``max_points`` points per curve (bucket min/max for the
waveform, bucket means for the curves), so an hour-long timeline is a figure of a few hundred kB.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from models_app.ser.svg import presentation_attributes
from models_app.ser.timeline import Timeline

_SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "emolab-timeline", "font.size": 9}
MAX_POINTS = 2000  # per curve: finer than a screen's pixels across the figure
_NONE_COLOUR = "#9e9e9e"


def emotion_colours(classes) -> dict[str, tuple]:
    """One fixed colour per emotion, in class order (the page's table uses the same)."""
    palette = matplotlib.colormaps["tab10"]
    return {name: palette(i % 10) for i, name in enumerate(classes)}


def colour_hex(colour: tuple) -> str:
    return matplotlib.colors.to_hex(colour)


def waveform_envelope(samples: np.ndarray, n_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(low, high): the min and max of ``samples`` ((n,) or (n, channels), channels averaged) in
    ``n_points`` equal buckets, each (min(n, n_points),) float64."""
    mono = np.asarray(samples, dtype=np.float64)
    if mono.ndim == 2:
        mono = mono.mean(axis=1)
    if mono.size == 0:
        return np.zeros(0), np.zeros(0)
    n_buckets = min(mono.size, n_points)
    edges = np.linspace(0, mono.size, n_buckets + 1).astype(np.int64)
    low = np.minimum.reduceat(mono, edges[:-1])
    high = np.maximum.reduceat(mono, edges[:-1])
    return low, high


def _bucket_means(values: np.ndarray, n_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(bucket start indices, bucket means along axis 0) of (T, ...) values."""
    n = values.shape[0]
    n_buckets = min(n, n_points)
    edges = np.linspace(0, n, n_buckets + 1).astype(np.int64)
    sums = np.add.reduceat(values, edges[:-1], axis=0)
    counts = np.diff(edges).reshape(-1, *([1] * (values.ndim - 1)))
    return edges[:-1], sums / counts


def timeline_svg(timeline: Timeline, envelope: tuple[np.ndarray, np.ndarray], *, title: str = "") -> str:
    """The figure as SVG text. ``envelope``: (low, high) from :func:`waveform_envelope`."""
    colours = emotion_colours(timeline.classes)
    with matplotlib.rc_context(_SVG_SETTINGS):
        figure = Figure(figsize=(10, 4.4), layout="constrained")
        wave, curves = figure.subplots(2, 1, sharex=True, height_ratios=[1.0, 1.2])

    duration = max(timeline.duration_s, 1e-9)
    low, high = envelope
    if low.size:
        times = np.linspace(0, duration, low.size)
        wave.fill_between(times, low, high, color="#555555", linewidth=0.3)
    for segment in timeline.segments:
        wave.axvspan(segment.start_s, segment.end_s, color=colours[segment.emotion], alpha=0.3, linewidth=0)
        if (segment.end_s - segment.start_s) / duration > 0.04:  # label segments wide enough to read
            wave.text(
                (segment.start_s + segment.end_s) / 2,
                1.02,
                segment.emotion,
                ha="center",
                va="bottom",
                fontsize=8,
                color=colours[segment.emotion],
                transform=wave.get_xaxis_transform(),
            )
    wave.set_ylim(-1.05, 1.05)
    wave.set_ylabel("waveform")
    if title:
        wave.set_title(title, pad=14)

    if timeline.n_frames:
        starts, means = _bucket_means(timeline.probabilities, MAX_POINTS)
        centres = starts * timeline.frame_step_s + timeline.window_s / 2
        for index, name in enumerate(timeline.classes):
            curves.plot(centres, means[:, index], color=colours[name], linewidth=1.2, label=name)
        curves.plot(centres, means[:, -1], color=_NONE_COLOUR, linewidth=1.0, linestyle="--", label="none")
    curves.set_ylim(0, 1.02)
    curves.set_ylabel("probability")
    curves.set_xlabel("time (s)")
    curves.set_xlim(0, duration)
    curves.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)

    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_SETTINGS):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    # No inline CSS: the page renders it under a strict Content-Security-Policy.
    return presentation_attributes(buffer.getvalue())
