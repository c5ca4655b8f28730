"""The CSV downloads: one header, one record per line, plain numbers that match the report."""

import csv
import io

import pytest

from models_app.ser.analysis import build_comparison
from models_app.ser.analysis.csv_tables import comparison_csv_tables
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances


@pytest.fixture(scope="module")
def tables():
    return comparison_csv_tables(build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0))


def _records(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_table_is_rectangular_csv(tables):
    for name, text in tables.items():
        rows = list(csv.reader(io.StringIO(text)))
        assert rows, name
        assert len(text.splitlines()) == len(rows), name  # no field spans two lines
        assert {len(row) for row in rows} == {len(rows[0])}, name


def test_table1_csv_holds_the_numbers(tables):
    records = {r["row"]: r for r in _records(tables["table1.csv"])}
    assert list(records) == ["dummy", "onelabel", "ctc", "human"]
    assert float(records["onelabel"]["overall_accuracy"]) == pytest.approx(0.6)
    assert float(records["onelabel"]["mean_class_accuracy"]) == pytest.approx(11 / 18, abs=1e-6)
    assert float(records["ctc"]["n_no_class"]) == 1
    # Humans have no folds: an empty cell, not 0.
    assert records["human"]["overall_accuracy_fold_std"] == ""
    low, high = float(records["human"]["overall_accuracy_ci_low"]), float(records["human"]["overall_accuracy_ci_high"])
    assert low <= 0.7 <= high


def test_confusion_csv_has_a_line_per_row_and_expert_label(tables):
    records = _records(tables["confusion.csv"])
    assert len(records) == 4 * 3
    ctc_anger = next(r for r in records if r["row"] == "ctc" and r["expert_label"] == "anger")
    assert [ctc_anger[f"count_{c}"] for c in CLASSES] == ["1", "1", "0"]
    assert ctc_anger["count_no_class"] == "1" and ctc_anger["total"] == "3"
    assert float(ctc_anger["share_no_class"]) == pytest.approx(1 / 3, abs=1e-6)


def test_disagreement_csv_leaves_empty_cells_empty(tables):
    records = _records(tables["disagreement.csv"])
    cell = next(r for r in records if (r["row"], r["expert_label"], r["n_dissenting"]) == ("onelabel", "anger", "2"))
    assert (cell["n"], cell["error_rate"]) == ("0", "")


def test_residual_and_agreement_csv(tables):
    residual = {(r["row"], r["expert_label"]): r for r in _records(tables["residual_agreement.csv"])}
    assert residual[("onelabel", "all")]["ratio"] == "0.75"
    assert residual[("onelabel", "all")]["chance_level"] == "0.5"
    agreement = {r["measure"]: r for r in _records(tables["human_agreement.csv"])}
    assert float(agreement["fleiss_kappa"]["value"]) == pytest.approx(3 / 43, abs=1e-6)
    assert float(agreement["krippendorff_alpha"]["value"]) == pytest.approx(5 / 43, abs=1e-6)


def test_tables_without_a_campaign_have_headers_only():
    tables = comparison_csv_tables(build_comparison(utterances(), predictions(), None, CLASSES, seed=0))
    header = "assessor,n,overall_accuracy,mean_class_accuracy,median_response_ms"
    assert tables["assessors.csv"].splitlines() == [header]
    assert len(tables["answer_index.csv"].splitlines()) == 1
