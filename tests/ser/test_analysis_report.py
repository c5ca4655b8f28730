"""build_comparison as a whole: what it says is missing, JSON-readiness, bad input, progress."""

import json

import pytest

from models_app.ser.analysis import build_comparison
from models_app.ser.analysis.inputs import Prediction, UtteranceRecord
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances

SECTIONS = ("overview", "table1", "confusion", "disagreement", "residual", "human", "missing")


def test_full_report_has_every_section_and_is_strict_json():
    report = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    for key in SECTIONS:
        assert key in report
    assert report["missing"] == []
    assert [row["name"] for row in report["rows"]] == ["dummy", "onelabel", "ctc", "human"]
    for entry in report["table1"].values():
        for key in (
            "overall_accuracy",
            "mean_class_accuracy",
            "overall_accuracy_ci",
            "mean_class_accuracy_ci",
            "overall_accuracy_fold_std",
            "mean_class_accuracy_fold_std",
            "n",
        ):
            assert key in entry
    # No NaN, no numpy scalars: the API can send it as it is.
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_predictions_without_a_campaign():
    report = build_comparison(utterances(), predictions(), None, CLASSES, seed=0)
    assert report["missing"] == ["no campaign selected"]
    assert list(report["table1"]) == ["dummy", "onelabel", "ctc"]
    assert report["human"] is None
    assert report["table1"]["onelabel"]["overall_accuracy"] == pytest.approx(0.6)


def test_a_campaign_without_judgments_yet():
    report = build_comparison(utterances(), predictions(), [], CLASSES, seed=0)
    assert report["missing"] == ["no campaign judgments yet"]
    assert "human" not in report["table1"]


def test_judgments_without_a_training_job():
    report = build_comparison(utterances(), None, judgments(), CLASSES, seed=0)
    assert report["missing"] == ["no training job selected"]
    assert list(report["table1"]) == ["human"]
    assert report["table1"]["human"]["overall_accuracy"] == pytest.approx(0.7)
    assert report["mcnemar"]["pairs"] == []
    assert report["human"]["cohen_kappa_with_methods"] == []
    assert report["human"]["fleiss_kappa"]["kappa"] == pytest.approx(3 / 43)


def test_a_job_without_ctc_rows_says_so():
    without_ctc = {row: rows for row, rows in predictions().items() if row != "ctc"}
    report = build_comparison(utterances(), without_ctc, None, CLASSES, seed=0)
    assert "no CTC predictions" in report["missing"]


def test_neither_job_nor_campaign_still_gives_the_overview():
    report = build_comparison(utterances(), None, None, CLASSES, seed=0)
    assert report["missing"] == ["no training job selected", "no campaign selected"]
    assert report["overview"]["n_in_class_set"] == 10
    assert report["table1"] == {} and report["confusion"]["rows"] == {}


def test_a_single_assessor_has_no_agreement():
    single = [j for j in judgments() if j.assessor == "h1"]
    report = build_comparison(utterances(), None, single, CLASSES, seed=0)
    assert "judgments from a single assessor: no agreement among assessors" in report["missing"]
    assert report["human"]["krippendorff_alpha"]["alpha"] is None


def test_predictions_of_unlabelled_utterances_are_left_out():
    extended = predictions()
    extended["dummy"] = extended["dummy"] + [Prediction("u11", "anger", 1), Prediction("u12", "anger", 1)]
    report = build_comparison(utterances(), extended, None, CLASSES, seed=0)
    baseline = build_comparison(utterances(), predictions(), None, CLASSES, seed=0)
    assert report["table1"] == baseline["table1"]


def test_rows_follow_the_paper_order_whatever_the_input_order():
    shuffled = dict(reversed(list(predictions().items())))
    report = build_comparison(utterances(), shuffled, None, CLASSES, seed=0)
    assert list(report["table1"]) == ["dummy", "onelabel", "ctc"]


def test_bad_input_is_refused_before_anything_is_computed():
    with pytest.raises(ValueError, match="unknown utterance"):
        build_comparison(utterances(), {"ctc": [Prediction("nope", "anger", 0)]}, None, CLASSES, seed=0)
    with pytest.raises(ValueError, match="at least two classes"):
        build_comparison(utterances(), None, None, ["anger"], seed=0)


def test_no_expert_votes_is_named():
    records = [UtteranceRecord("e1", "anger", "s", "s"), UtteranceRecord("e2", "neutral", "s", "s")]
    report = build_comparison(
        records, {"dummy": [Prediction("e1", "anger", 0), Prediction("e2", "anger", 1)]}, None, CLASSES, seed=0
    )
    assert "no expert votes: the disagreement and residual sections are empty" in report["missing"]
    assert report["disagreement"]["n_dissenting_values"] == []
    assert report["disagreement"]["rows"]["dummy"]["n_without_votes"] == 2


def test_progress_is_reported_section_by_section():
    events = []
    build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0, progress=events.append)
    assert [e.done for e in events] == list(range(1, len(events) + 1))
    assert events[-1].done == events[-1].total
    assert {e.stage for e in events} == {"report"}
    assert events[-1].detail == {"section": "human"}


def test_folds_are_listed_in_numeric_order():
    records = [UtteranceRecord(f"f{i}", "anger", "s", "s") for i in range(3)]
    folds = {"f0": 10, "f1": 2, "f2": 2}
    report = build_comparison(
        records, {"dummy": [Prediction(u, "anger", f) for u, f in folds.items()]}, None, CLASSES, seed=0
    )
    assert [g["fold"] for g in report["table1"]["dummy"]["groups"]] == [2, 10]
