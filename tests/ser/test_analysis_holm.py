"""Holm's correction of the McNemar p-values, the number formats and Table 1's plain reading,
against hand computations."""

import pytest

from models_app.ser.analysis import build_comparison, formats
from models_app.ser.analysis.accuracy import holm_adjusted
from models_app.ser.analysis.reading import table1_reading
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances


def test_holm_against_a_hand_computation():
    # m = 4. Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, but
    # never below the one before: 0.06). Back in the order given:
    assert holm_adjusted([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # Capped at 1: 0.4 x 3 = 1.2 -> 1; then 0.5 x 2 = 1.0; 0.9 x 1 -> max(1, 0.9) = 1.
    assert holm_adjusted([0.5, 0.4, 0.9]) == pytest.approx([1.0, 1.0, 1.0])
    # A single test is not adjusted; no test gives nothing.
    assert holm_adjusted([0.012]) == [0.012]
    assert holm_adjusted([]) == []
    # Ties: both 0.01 -> rank 1: 0.01 x 2 = 0.02, rank 2: max(0.02, 0.01 x 1) = 0.02.
    assert holm_adjusted([0.01, 0.01]) == pytest.approx([0.02, 0.02])


def test_every_pair_has_its_holm_p_value_beside_the_raw_one():
    report = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    pairs = report["mcnemar"]["pairs"]
    assert len(pairs) == 6
    raw = [p["p_value"] for p in pairs]
    assert [p["p_value_holm"] for p in pairs] == pytest.approx(holm_adjusted(raw))
    smallest = min(range(6), key=lambda i: raw[i])
    # The smallest p-value is multiplied by the number of pairs (capped at 1).
    assert pairs[smallest]["p_value_holm"] == pytest.approx(min(1.0, 6 * raw[smallest]))
    assert all(p["p_value_holm"] >= p["p_value"] for p in pairs)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0423, "0.042"), (0.001, "0.001"), (0.000999, "1.0e-03"), (1.234e-5, "1.2e-05"), (1.0, "1.000"), (None, "")],
)
def test_p_values_are_scientific_below_one_in_a_thousand(value, text):
    assert formats.p_value(value) == text


def test_percentages_and_counts():
    assert formats.percent(0.62345) == "62.3%"
    assert formats.percent(None) == ""
    assert formats.interval([0.5512, 0.6104]) == "55.1–61.0%"
    assert formats.count(12.0) == "12"


def _report(pairs, table):
    return {"table1": {name: {"overall_accuracy": value} for name, value in table.items()}, "mcnemar": {"pairs": pairs}}


def _pair(a, b, accuracy_a, accuracy_b, p_holm, n=100):
    return {"row_a": a, "row_b": b, "n": n, "accuracy_a": accuracy_a, "accuracy_b": accuracy_b, "p_value_holm": p_holm}


def test_table1_reading_names_the_winner_and_the_corrected_p_value():
    report = _report(
        [
            _pair("framewise", "ctc", 0.55, 0.62, 0.00002),
            _pair("framewise", "human", 0.55, 0.70, 0.3),
            _pair("ctc", "human", 0.62, 0.70, 0.12),
        ],
        {"framewise": 0.55, "ctc": 0.62, "human": 0.70},
    )
    reading = table1_reading(report)
    assert reading.startswith("CTC")
    assert "is better than Framewise (62.0% vs 55.0% on 100 shared utterances, McNemar p = 2.0e-05" in reading
    assert "after Holm's correction for 3 comparisons" in reading
    assert "Human and CTC" in reading and "do not differ significantly" in reading and "p = 0.120" in reading


def test_table1_reading_is_empty_with_a_single_row():
    assert table1_reading(_report([], {"dummy": 0.4})) == ""
