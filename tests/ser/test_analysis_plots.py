"""The report figures: well-formed SVG with the class names as text, drawn without a display."""

import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from models_app.ser.analysis import DecodedSpan, build_comparison, plots
from models_app.ser.analysis.plots import (
    comparison_figures,
    confusion_heatmaps_svg,
    frame_probabilities_svg,
)
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def report():
    return build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)


def _texts(svg: str) -> str:
    root = ElementTree.fromstring(svg)  # raises on malformed XML
    assert root.tag == f"{SVG}svg"
    return " ".join("".join(node.itertext()) for node in root.iter(f"{SVG}text"))


def test_every_report_figure_is_well_formed_svg(report):
    figures = comparison_figures(report)
    assert set(figures) == {
        "class_distribution.svg",
        "consensus.svg",
        "expert_agreement.svg",
        "table1.svg",
        *(f"confusion_{row}.svg" for row in ("human", "ctc", "onelabel", "dummy")),
        *(f"disagreement_{row}.svg" for row in ("human", "ctc", "onelabel", "dummy")),
        "residual_agreement.svg",
        "answer_index.svg",
    }
    for name, svg in figures.items():
        texts = _texts(svg)
        assert texts, name
    assert all(c in _texts(figures["class_distribution.svg"]) for c in CLASSES)
    # Every row side by side: drawn when downloaded, not with the report.
    for name in ("confusion.svg", "disagreement.svg"):
        assert "Human" in _texts(plots.on_demand_figure(report, name))


def test_an_interval_that_misses_its_estimate_still_draws(report):
    # A percentile bootstrap interval need not contain its estimate (issue 12: a 500 on the report
    # page). The bar is drawn on the side where the bound lies, none on the other.
    report = {**report, "table1": {name: dict(values) for name, values in report["table1"].items()}}
    row = next(iter(report["table1"].values()))
    row["overall_accuracy"], row["overall_accuracy_ci"] = 0.5, [0.6, 0.9]
    row["mean_class_accuracy"], row["mean_class_accuracy_ci"] = 1.0, [0.5, 0.9999999999999999]
    report["human"] = {**report["human"], "answer_index": {"bin_width": 10, "bins": [
        {"start": 0, "end": 9, "n": 12, "accuracy": 1.0, "ci": [0.75, 0.9999999999999998]},
        {"start": 10, "end": 19, "n": 12, "accuracy": 0.0, "ci": [2e-17, 0.25]},
    ]}}  # fmt: skip
    figures = comparison_figures(report)
    assert _texts(figures["table1.svg"]) and _texts(figures["answer_index.svg"])


def test_confusion_heatmaps_share_one_class_order_and_show_counts(report):
    texts = _texts(confusion_heatmaps_svg(report, rows=["ctc", "human"]))
    assert "CTC (beam search)" in texts and "Human" in texts
    # Human anger row: 4 of 6 answers right -> "66.7%" with "(4)".
    assert "66.7%" in texts and "(4)" in texts
    with pytest.raises(ValueError, match="no row to plot"):
        confusion_heatmaps_svg(report, rows=["framewise"])


def test_figures_are_deterministic(report):
    # Same report, same bytes: a download can be cached and compared.
    assert confusion_heatmaps_svg(report) == confusion_heatmaps_svg(report)


def test_frame_probabilities_with_the_decoded_sequence():
    n_frames = 30
    framewise = np.full((n_frames, 3), 1 / 3)
    ctc = np.zeros((n_frames, 4))  # (frames, K + 1), blank last
    ctc[:, 3] = 1.0
    ctc[10:15] = [0.9, 0.05, 0.0, 0.05]
    svg = frame_probabilities_svg(
        classes=CLASSES,
        frame_step_s=0.1,
        framewise=framewise,
        ctc=ctc,
        decoded=[DecodedSpan("anger", 10, 15)],
        title="expert: anger",
    )
    texts = _texts(svg)
    assert "expert: anger" in texts and "blank" in texts and "time (s)" in texts
    # Only one of the two panels is enough.
    _texts(frame_probabilities_svg(classes=CLASSES, frame_step_s=0.1, framewise=framewise))


def test_frame_probabilities_refuse_arrays_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(frames, 3\)"):
        frame_probabilities_svg(classes=CLASSES, frame_step_s=0.1, framewise=np.ones((5, 4)))
    with pytest.raises(ValueError, match="with the blank"):
        frame_probabilities_svg(classes=CLASSES, frame_step_s=0.1, ctc=np.ones((5, 3)))
    with pytest.raises(ValueError, match="nothing to draw"):
        frame_probabilities_svg(classes=CLASSES, frame_step_s=0.1)
    with pytest.raises(ValueError, match="not one of"):
        frame_probabilities_svg(
            classes=CLASSES, frame_step_s=0.1, ctc=np.ones((5, 4)) / 4, decoded=[DecodedSpan("joy", 0, 2)]
        )


def _overlaps(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("draw", ["table1_figure", "residual_figure"])
def test_no_legend_covers_a_bar(report, draw):
    # Issue 16: the residual chart's legend covered the anger bars. Every bar's box against the legend's.
    figure = getattr(plots, draw)(report)
    figure.draw_without_rendering()
    (axes,) = figure.axes
    legend = axes.get_legend().get_window_extent()
    bars = [patch.get_window_extent() for patch in axes.patches]
    assert len(bars) >= 4
    assert not any(_overlaps(legend, bar) for bar in bars)


def test_a_crowded_residual_chart_keeps_its_legend_off_the_bars(report):
    # High ratios for every row and class: bars reach the top where a legend inside would sit.
    crowded = {**report, "residual": {**report["residual"], "rows": {}}}
    for name, row in report["residual"]["rows"].items():
        crowded["residual"]["rows"][name] = {**row, "per_class": [{**cell, "ratio": 0.95} for cell in row["per_class"]]}
    figure = plots.residual_figure(crowded)
    figure.draw_without_rendering()
    legend = figure.axes[0].get_legend().get_window_extent()
    assert not any(_overlaps(legend, p.get_window_extent()) for p in figure.axes[0].patches)


def test_each_confusion_matrix_is_at_least_320_px_square_with_readable_cells(report):
    svg = plots.confusion_matrix_svg(report, "ctc")
    root = ElementTree.fromstring(svg)
    cells = [r for r in root.iter(f"{SVG}rect") if r.get("id") == "cell"]
    assert len(cells) == len(CLASSES) ** 2
    # The cells alone span at least 320 px each way (CSS pixels: the SVG's user units).
    left = min(float(c.get("x")) for c in cells)
    right = max(float(c.get("x")) + float(c.get("width")) for c in cells)
    top = min(float(c.get("y")) for c in cells)
    bottom = max(float(c.get("y")) + float(c.get("height")) for c in cells)
    assert right - left >= 320 and bottom - top >= 320
    assert float(root.get("width")) >= 320 and float(root.get("height")) >= 320
    sizes = {float(t.get("font-size")) for t in root.iter(f"{SVG}text")}
    assert min(sizes) >= 12  # the smallest text (counts) at 12 px, shares at 14 px
    assert "CTC (beam search) (overall accuracy" in _texts(svg)
    # Human anger: 4 of 6 answers right.
    human = _texts(plots.confusion_matrix_svg(report, "human"))
    assert "66.7%" in human and "(4)" in human


def test_a_seven_class_matrix_keeps_readable_cells():
    classes = [f"c{i}" for i in range(7)]
    svg = plots.heatmap_svg(
        [[1 / 7] * 7] * 7, [[3] * 7] * 7, row_labels=classes, column_labels=classes, title="t", x_label="x", y_label="y"
    )
    cells = [r for r in ElementTree.fromstring(svg).iter(f"{SVG}rect") if r.get("id") == "cell"]
    assert {float(c.get("width")) for c in cells} == {56.0}


def test_the_human_matrix_sits_beside_the_best_method(report):
    order = plots.matrix_order(report)
    assert order[0] == "human"
    best = max((n for n in report["table1"] if n != "human"), key=lambda n: report["table1"][n]["overall_accuracy"])
    assert order[1] == best
    assert sorted(order) == sorted(report["confusion"]["rows"])


def test_frame_plots_cover_the_whole_utterance_with_frames_at_their_times():
    # Issue 16: Ses05M_057 lasts 2.44 s; 200 ms windows every 100 ms give 23 frames, of which the
    # paper's features keep 17 here (edges and silent frames dropped). Drawn at 0.1 s per kept frame the
    # curves ended at 1.75 s; at their own frame numbers they reach the last window's centre.
    kept = [1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 17, 18, 19, 20, 21]  # edges 0, 22 and 10-13 dropped
    framewise = np.full((len(kept), 3), 1 / 3)
    ctc = np.zeros((len(kept), 4))
    ctc[:, 3] = 1.0
    figure = plots.frame_probabilities_figure(
        classes=CLASSES,
        frame_step_s=0.1,
        window_s=0.2,
        framewise=framewise,
        ctc=ctc,
        decoded=[DecodedSpan("anger", 9, 12)],  # kept frames 9-11: frame numbers 14-16
        frame_index=kept,
        duration_s=2.44,
    )
    for axes in figure.axes:
        assert axes.get_xlim() == pytest.approx((0.0, 2.44))
        x = np.concatenate([line.get_xdata() for line in axes.lines if len(line.get_xdata()) > 2])
        # Last kept frame 21 starts at 2.1 s; its window's centre is 2.2 s.
        assert np.nanmax(x) == pytest.approx(2.2) and np.nanmin(x) == pytest.approx(0.2)
        assert np.isnan(x).any()  # the line breaks over frames 10-13
    # Frame numbers 14-16: window centres 1.5-1.7 s, shaded half a step either side.
    span = figure.axes[1].patches[0].get_window_extent()
    to_data = figure.axes[1].transData.inverted()
    (left, _), (right, _) = to_data.transform([(span.x0, span.y0), (span.x1, span.y1)])
    assert (left, right) == (pytest.approx(1.45), pytest.approx(1.75))
    with pytest.raises(ValueError, match="frame_index"):
        plots.frame_probabilities_figure(classes=CLASSES, frame_step_s=0.1, framewise=framewise, frame_index=[1, 2])
