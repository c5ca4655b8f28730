"""The report's figures as SVG text, drawn with matplotlib's object API.

No pyplot: figures are built as ``matplotlib.figure.Figure`` objects and saved straight to SVG,
so nothing touches a display, a global backend or pyplot's figure registry (safe in web workers
and threads). Text stays text in the SVG (searchable, small) and the output is deterministic.
Every class keeps one colour and one position in every figure.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..svg import XML_DECLARATION, presentation_attributes
from . import formats
from .heatmap import heatmap_svg
from .inputs import HUMAN_ROW, DecodedSpan, row_label

_SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "emolab", "font.size": 9}
_BLANK_COLOUR = "#9e9e9e"


def _class_colours(n_classes: int) -> list:
    palette = matplotlib.colormaps["tab10"]
    return [palette(i % 10) for i in range(n_classes)]


def _to_svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(_SVG_SETTINGS):
        # No bbox_inches="tight": constrained layout already fills the figure, and the tight box
        # costs a second full draw of every figure (a third of the report's time at IEMOCAP's size).
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    # No inline CSS: the pages and the downloads render under a strict Content-Security-Policy.
    return XML_DECLARATION + presentation_attributes(buffer.getvalue())


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_SVG_SETTINGS):
        return Figure(figsize=(width, height), layout="constrained")


def _error_lengths(values: np.ndarray, intervals: Sequence) -> list[np.ndarray]:
    """matplotlib's ``yerr`` (lengths below and above each value) from (low, high) intervals.

    A percentile bootstrap interval need not contain its estimate (all its resamples may lie on one
    side), and a bound can equal the estimate up to rounding: matplotlib refuses any negative
    length, so the bar is drawn to the bound on the side where there is one and not on the other.
    A missing interval draws no bar.
    """
    low = np.array([np.nan if ci is None else ci[0] for ci in intervals], dtype=float)
    high = np.array([np.nan if ci is None else ci[1] for ci in intervals], dtype=float)
    below = np.nan_to_num(np.clip(values - low, 0.0, None), nan=0.0)
    above = np.nan_to_num(np.clip(high - values, 0.0, None), nan=0.0)
    return [below, above]


_percent = formats.percent


def _legend_outside(axes, **kwargs):
    """The legend to the right of the axes, outside them: it never covers a bar or a line.
    Constrained layout makes room for it. Tagged ``legend`` in the SVG for the page's tests."""
    legend = axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, **kwargs)
    legend.set_gid("legend")
    return legend


def _tag_data(artists) -> None:
    """Tag the data's patches (bars) ``data`` in the SVG, so a test can check nothing covers them."""
    for artist in artists:
        artist.set_gid("data")


def class_distribution_svg(report: dict) -> str:
    """Utterances per class (figure 1b)."""
    rows = report["overview"]["class_distribution"]
    figure = _figure(4.5, 3.0)
    axes = figure.add_subplot()
    names = [r["class"] for r in rows]
    bars = axes.bar(names, [r["n"] for r in rows], color=_class_colours(len(names)))
    axes.bar_label(bars, labels=[f"{r['n']}\n{_percent(r['share'])}" for r in rows], fontsize=8)
    axes.set_ylabel("utterances")
    axes.set_title("Class distribution")
    axes.margins(y=0.2)
    return _to_svg(figure)


def consensus_svg(report: dict) -> str:
    """Utterances with a label in the class set, with another label, and without consensus (figure 2b)."""
    overview = report["overview"]
    consensus = overview["consensus"]
    parts = [
        ("in class set", overview["n_in_class_set"]),
        ("other label", consensus["n_labelled"] - overview["n_in_class_set"]),
        ("no consensus", consensus["n_no_consensus"]),
    ]
    figure = _figure(4.5, 1.6)
    axes = figure.add_subplot()
    total = max(1, overview["n_utterances"])
    left = 0
    for (name, n), colour in zip(parts, ["#4c72b0", "#aec7e8", "#c44e52"], strict=True):
        _tag_data(axes.barh([0], [n], left=left, color=colour, label=f"{name}: {n} ({_percent(n / total)})"))
        left += n
    axes.set_yticks([])
    axes.set_xlabel("utterances")
    legend = axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.5), ncol=3, fontsize=7, frameon=False)
    legend.set_gid("legend")
    axes.set_title("Expert consensus")
    return _to_svg(figure)


def agreement_histogram_svg(report: dict) -> str:
    """For each class, utterances by the number of expert raters agreeing with the label (figure 2a)."""
    agreement = report["overview"]["agreement"]
    values = agreement["n_agreeing_values"]
    classes = report["classes"]
    figure = _figure(5.5, 3.0)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(classes))
    positions = np.arange(len(values))
    for i, (name, colour) in enumerate(zip(classes, _class_colours(len(classes)), strict=True)):
        shift = (i - (len(classes) - 1) / 2) * width
        _tag_data(axes.bar(positions + shift, agreement["counts"][name], width, label=name, color=colour))
    axes.set_xticks(positions, [str(v) for v in values])
    axes.set_xlabel("expert raters agreeing with the label")
    axes.set_ylabel("utterances")
    axes.set_title("Expert agreement")
    _legend_outside(axes)
    return _to_svg(figure)


def table1_svg(report: dict) -> str:
    """Both accuracies per row with their 95% bootstrap intervals (Table 1 as a figure)."""
    return _to_svg(table1_figure(report))


def table1_figure(report: dict) -> Figure:
    table = report["table1"]
    names = list(table)
    figure = _figure(max(4.5, 1.0 + 0.9 * len(names)), 3.2)
    axes = figure.add_subplot()
    positions = np.arange(len(names))
    for offset, key, colour in ((-0.2, "overall_accuracy", "#4c72b0"), (0.2, "mean_class_accuracy", "#dd8452")):
        values = np.array([np.nan if table[n][key] is None else table[n][key] for n in names], dtype=float)
        yerr = _error_lengths(values, [table[n][f"{key}_ci"] for n in names])
        label = key.replace("_", " ")
        _tag_data(axes.bar(positions + offset, values, 0.4, yerr=yerr, capsize=2, color=colour, label=label))
    axes.set_xticks(positions, [row_label(n) for n in names], rotation=30, ha="right")
    axes.set_ylim(0, 1)
    axes.set_ylabel("accuracy (95% bootstrap interval)")
    _legend_outside(axes)
    axes.set_title("Table 1")
    return figure


def _heatmap(
    axes, values, counts, *, row_labels, column_labels, cmap, title, vmax=1.0, rotate_columns=True, fontsize=7
):
    data = np.array([[np.nan if v is None else v for v in line] for line in values], dtype=float)
    # Empty cells (a class with no utterance at that level) are grey, not "0% error".
    colour_map = matplotlib.colormaps[cmap].with_extremes(bad="#eeeeee")
    image = axes.imshow(np.ma.masked_invalid(data), cmap=colour_map, vmin=0.0, vmax=vmax)
    for (r, c), value in np.ndenumerate(data):
        if np.isnan(value):
            continue
        colour = "white" if value > 0.6 * vmax else "black"
        text = f"{_percent(value)}\n({formats.count(counts[r][c])})"
        axes.text(c, r, text, ha="center", va="center", fontsize=fontsize, color=colour)
    if rotate_columns:
        axes.set_xticks(range(len(column_labels)), column_labels, rotation=45, ha="right")
    else:
        axes.set_xticks(range(len(column_labels)), column_labels)
    axes.set_yticks(range(len(row_labels)), row_labels)
    axes.set_title(title)
    return image


def _chosen_rows(section_rows: dict, rows: Sequence[str] | None) -> list[str]:
    names = list(section_rows) if rows is None else [r for r in rows if r in section_rows]
    if not names:
        raise ValueError("no row to plot: the report has none of the rows asked for")
    return names


def confusion_heatmaps_svg(report: dict, rows: Sequence[str] | None = None) -> str:
    """Row-normalised confusion matrices with counts, side by side in the same class order
    (figures 6a and 7a). Rows: expert label; columns: answer."""
    confusion = report["confusion"]
    names = _chosen_rows(confusion["rows"], rows)
    classes = confusion["classes"]
    side = 1.0 + 0.55 * len(classes)
    figure = _figure(side * len(names), side + 0.6)
    axes_list = figure.subplots(1, len(names), squeeze=False)[0]
    for axes, name in zip(axes_list, names, strict=True):
        matrix = confusion["rows"][name]
        _heatmap(
            axes,
            matrix["normalized"],
            matrix["counts"],
            row_labels=classes,
            column_labels=classes,
            cmap="Blues",
            title=row_label(name),
        )
        axes.set_xlabel("answer")
        if axes is axes_list[0]:
            axes.set_ylabel("expert label")
        else:
            axes.tick_params(labelleft=False)
    return _to_svg(figure)


def disagreement_heatmap_svg(report: dict, rows: Sequence[str] | None = None) -> str:
    """Error rate per expert label and number of dissenting experts (figure 6b), side by side."""
    table = report["disagreement"]
    names = _chosen_rows(table["rows"], rows)
    columns = [str(d) for d in table["n_dissenting_values"]]
    classes = table["classes"]
    figure = _figure(max(2.5, 1.0 + 0.7 * len(columns)) * len(names), 1.2 + 0.55 * len(classes))
    axes_list = figure.subplots(1, len(names), squeeze=False)[0]
    for axes, name in zip(axes_list, names, strict=True):
        row = table["rows"][name]
        _heatmap(
            axes,
            row["error_rate"],
            row["n"],
            row_labels=classes,
            column_labels=columns,
            cmap="Reds",
            title=row_label(name),
            rotate_columns=False,
        )
        axes.set_xlabel("dissenting experts")
        if axes is not axes_list[0]:
            axes.tick_params(labelleft=False)
    return _to_svg(figure)


def residual_svg(report: dict) -> str:
    """Share of wrong answers equal to a dissenting expert's class, per class and row (Table 2),
    beside the chance level 1/(K-1)."""
    return _to_svg(residual_figure(report))


def residual_figure(report: dict) -> Figure:
    residual = report["residual"]
    names = list(residual["rows"])
    classes = residual["classes"]
    figure = _figure(max(4.5, 1.2 * len(classes) + 1), 3.0)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(names))
    positions = np.arange(len(classes))
    for i, name in enumerate(names):
        ratios = [np.nan if cell["ratio"] is None else cell["ratio"] for cell in residual["rows"][name]["per_class"]]
        shift = (i - (len(names) - 1) / 2) * width
        _tag_data(axes.bar(positions + shift, ratios, width, label=row_label(name)))
    axes.axhline(residual["chance_level"], color="black", linestyle="--", linewidth=1, label="chance 1/(K-1)")
    axes.set_xticks(positions, classes)
    axes.set_ylim(0, 1)
    axes.set_ylabel("wrong answers equal to a dissenting vote")
    _legend_outside(axes)
    axes.set_title("Residual agreement")
    return figure


def answer_index_svg(report: dict) -> str:
    """The assessors' accuracy over their answer index, with Wilson intervals (does feedback teach?)."""
    human = report["human"]
    bins = human["answer_index"]["bins"] if human else []
    figure = _figure(5.0, 3.0)
    axes = figure.add_subplot()
    if bins:
        centres = np.array([(b["start"] + b["end"]) / 2 for b in bins])
        accuracy = np.array([b["accuracy"] for b in bins], dtype=float)
        yerr = _error_lengths(accuracy, [b["ci"] for b in bins])
        axes.errorbar(centres, accuracy, yerr=yerr, marker="o", capsize=3, color="#4c72b0")
        pooled = report["table1"].get("human", {}).get("overall_accuracy")
        if pooled is not None:
            axes.axhline(pooled, color="grey", linestyle=":", linewidth=1, label="all answers")
            _legend_outside(axes)
    else:
        axes.text(0.5, 0.5, "no scored answers", ha="center", va="center", transform=axes.transAxes)
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"answer index (bins of {human['answer_index']['bin_width'] if human else 0:d})")
    axes.set_ylabel("accuracy")
    axes.set_title("Accuracy over answers")
    return _to_svg(figure)


def frame_probabilities_figure(
    *,
    classes: Sequence[str],
    frame_step_s: float,
    framewise: np.ndarray | None = None,
    ctc: np.ndarray | None = None,
    ctc_blank_index: int | None = None,
    decoded: Sequence[DecodedSpan] = (),
    title: str = "",
    frame_index: Sequence[int] | None = None,
    window_s: float = 0.0,
    duration_s: float | None = None,
) -> Figure:
    """Per-frame class probabilities over time (figure 4), one panel per model.

    ``framewise``: (T, K) probabilities of the framewise forest. ``ctc``: (T, K + 1) per-frame
    CTC outputs, the blank at ``ctc_blank_index`` (default: last) drawn grey. ``decoded``: CTC's
    decoded emotion spans in frames, shaded on the CTC panel.

    Time: kept frame t is frame number ``frame_index[t]`` of the signal (default t: every frame
    kept) and starts at ``frame_index[t] * frame_step_s``; it is drawn at its window's centre
    (``window_s`` / 2 later). The paper's features drop the edge frames and silent frames, so
    without ``frame_index`` the curves would be squeezed to the left and end early (issue 16:
    a 2.44 s utterance plotted to 1.75 s). Lines break where frames were dropped. The time axis
    runs from 0 to ``duration_s`` when given: the whole utterance.
    """
    classes = list(classes)
    n_classes = len(classes)
    panels = []
    if framewise is not None:
        framewise = np.asarray(framewise, dtype=float)
        if framewise.ndim != 2 or framewise.shape[1] != n_classes:
            raise ValueError(f"framewise probabilities must have shape (frames, {n_classes}), got {framewise.shape}")
        panels.append(("Framewise", framewise, None))
    if ctc is not None:
        ctc = np.asarray(ctc, dtype=float)
        if ctc.ndim != 2 or ctc.shape[1] != n_classes + 1:
            raise ValueError(f"CTC outputs must have shape (frames, {n_classes + 1}) with the blank, got {ctc.shape}")
        blank = n_classes if ctc_blank_index is None else ctc_blank_index
        if not 0 <= blank <= n_classes:
            raise ValueError(f"blank index {blank} is outside 0..{n_classes}")
        panels.append(("CTC", ctc, blank))
    if not panels:
        raise ValueError("nothing to draw: give framewise probabilities, CTC outputs or both")
    if frame_step_s <= 0:
        raise ValueError(f"frame_step_s must be positive, got {frame_step_s}")

    colours = _class_colours(n_classes)
    figure = _figure(6.5, 2.2 * len(panels) + 0.4)
    axes_list = figure.subplots(len(panels), 1, squeeze=False)[:, 0]
    for axes, (name, probabilities, blank) in zip(axes_list, panels, strict=True):
        times = _frame_times(probabilities.shape[0], frame_index, frame_step_s, window_s)
        # NaN between frames that are not neighbours: the lines break over dropped frames.
        gaps = np.flatnonzero(np.diff(times) > 1.5 * frame_step_s) + 1
        times_drawn = np.insert(times, gaps, np.nan)
        probabilities = np.insert(probabilities, gaps, np.nan, axis=0)
        class_columns = [c for c in range(probabilities.shape[1]) if c != blank]
        for colour, column, label in zip(colours, class_columns, classes, strict=True):
            axes.plot(times_drawn, probabilities[:, column], color=colour, linewidth=1.2, label=label)
        if blank is not None:
            axes.plot(
                times_drawn, probabilities[:, blank], color=_BLANK_COLOUR, linestyle="--", linewidth=1, label="blank"
            )
            for span in decoded:
                if span.emotion not in classes:
                    raise ValueError(f"decoded emotion {span.emotion!r} is not one of {classes}")
                if not 0 <= span.start_frame < span.end_frame <= len(times):
                    raise ValueError(f"decoded span {span} lies outside the {len(times)} frames")
                # From the first frame's window centre minus half a step to the last's plus half.
                start = times[span.start_frame] - frame_step_s / 2
                end = times[span.end_frame - 1] + frame_step_s / 2
                axes.axvspan(start, end, color=colours[classes.index(span.emotion)], alpha=0.15)
                axes.text(
                    (start + end) / 2,
                    1.02,
                    span.emotion,
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    transform=axes.get_xaxis_transform(),
                )
        axes.set_ylim(0, 1)
        axes.set_ylabel(f"{name}\nprobability")
        _legend_outside(axes)
    if duration_s is not None:
        for axes in axes_list:
            axes.set_xlim(0.0, duration_s)
    axes_list[-1].set_xlabel("time (s)")
    if title:
        figure.suptitle(title)
    return figure


def matrix_order(report: dict) -> list[str]:
    """The rows of the confusion grid: the human row first, beside the best method (by overall
    accuracy), then the other methods from best to worst."""
    table = report["table1"]
    methods = sorted(
        (name for name in report["confusion"]["rows"] if name != HUMAN_ROW),
        key=lambda name: -(table.get(name, {}).get("overall_accuracy") or 0.0),
    )
    return ([HUMAN_ROW] if HUMAN_ROW in report["confusion"]["rows"] else []) + methods


def confusion_matrix_svg(report: dict, row: str) -> str:
    """One row's confusion matrix (rows: expert label, columns: answer; row-normalised shares with
    counts), its overall accuracy in the title: at least 320 px square, written directly as SVG."""
    confusion = report["confusion"]
    if row not in confusion["rows"]:
        raise ValueError(f"no row to plot: the report has no confusion matrix for {row!r}")
    classes = confusion["classes"]
    matrix = confusion["rows"][row]
    overall = report["table1"].get(row, {}).get("overall_accuracy")
    return heatmap_svg(
        matrix["normalized"],
        matrix["counts"],
        row_labels=classes,
        column_labels=classes,
        title=row_label(row) + (f" (overall accuracy {_percent(overall)})" if overall is not None else ""),
        x_label="answer",
        y_label="expert label",
        cmap="Blues",
    )


def disagreement_row_svg(report: dict, row: str) -> str:
    """One row's error rate per expert label and number of dissenting experts (figure 6b)."""
    table = report["disagreement"]
    if row not in table["rows"]:
        raise ValueError(f"no row to plot: the report has no disagreement table for {row!r}")
    values = table["rows"][row]
    return heatmap_svg(
        values["error_rate"],
        values["n"],
        row_labels=table["classes"],
        column_labels=[str(d) for d in table["n_dissenting_values"]],
        title=f"{row_label(row)}: error rate",
        x_label="dissenting experts",
        y_label="expert label",
        cmap="Reds",
        rotate_columns=False,
    )


# Downloads drawn when asked for, not with the report: every row side by side, the page shows the
# same matrices one per row (``confusion_<row>.svg``, ``disagreement_<row>.svg``).
ON_DEMAND = {
    "confusion.svg": lambda report: confusion_heatmaps_svg(report),
    "disagreement.svg": lambda report: disagreement_heatmap_svg(report),
}


def on_demand_figure(report: dict, filename: str) -> str | None:
    """One of the ``ON_DEMAND`` figures, or None when the report's data does not allow it."""
    if filename not in ON_DEMAND or not report["table1"]:
        return None
    if filename == "disagreement.svg" and not report["disagreement"]["n_dissenting_values"]:
        return None
    return ON_DEMAND[filename](report)


def frame_probabilities_svg(**kwargs) -> str:
    """``frame_probabilities_figure`` as SVG text."""
    return _to_svg(frame_probabilities_figure(**kwargs))


def _frame_times(n_frames: int, frame_index, frame_step_s: float, window_s: float) -> np.ndarray:
    """(n_frames,) the centre of each kept frame's window in seconds."""
    if frame_index is None:
        numbers = np.arange(n_frames)
    else:
        numbers = np.asarray(frame_index, dtype=float)
        if numbers.shape != (n_frames,):
            raise ValueError(f"frame_index has {numbers.size} entries for {n_frames} frames")
    return numbers * frame_step_s + window_s / 2


def comparison_figures(report: dict) -> dict[str, str]:
    """Every report figure that the report's data allows and the page shows: file name -> SVG text.

    ``confusion_<row>.svg`` and ``disagreement_<row>.svg`` hold one row each (the page's grid); the
    side-by-side downloads are drawn on demand (``on_demand_figure``)."""
    figures = {
        "class_distribution.svg": class_distribution_svg(report),
        "consensus.svg": consensus_svg(report),
        "expert_agreement.svg": agreement_histogram_svg(report),
    }
    if report["table1"]:
        figures["table1.svg"] = table1_svg(report)
        for row in matrix_order(report):
            figures[f"confusion_{row}.svg"] = confusion_matrix_svg(report, row)
        if report["disagreement"]["n_dissenting_values"]:
            for row in matrix_order(report):
                if row in report["disagreement"]["rows"]:
                    figures[f"disagreement_{row}.svg"] = disagreement_row_svg(report, row)
            figures["residual_agreement.svg"] = residual_svg(report)
    if report["human"] is not None:
        figures["answer_index.svg"] = answer_index_svg(report)
    return figures
