"""The report figures: well-formed SVG with the class names as text, drawn without a display."""

import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

from models_app.ser.analysis import DecodedSpan, build_comparison
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
        "confusion.svg",
        "disagreement.svg",
        "residual_agreement.svg",
        "answer_index.svg",
    }
    for name, svg in figures.items():
        texts = _texts(svg)
        assert texts, name
    assert all(c in _texts(figures["class_distribution.svg"]) for c in CLASSES)


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
    # Human anger row: 4 of 6 answers right -> "67%" with "(4)".
    assert "67%" in texts and "(4)" in texts
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
