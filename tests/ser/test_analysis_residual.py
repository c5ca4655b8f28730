"""Residual agreement (Table 2): considered ratio and wrong answers that equal a dissenting vote."""

import pytest

from models_app.ser.analysis import build_comparison
from models_app.ser.analysis.inputs import Prediction, UtteranceRecord
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances


@pytest.fixture(scope="module")
def residual():
    return build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)["residual"]


def test_considered_ratio_counts_dissenting_votes_inside_the_class_set(residual):
    considered = residual["considered"]
    # anger: u2 [neutral] inside, u3 [frustration] outside -> 1/2.
    # neutral: u5 [sadness] and [anger] inside, u7 [sadness, frustration] inside (one class is enough) -> 3/3.
    # sadness: u9 [neutral] inside, u10 [happiness] outside -> 1/2.
    assert considered["per_class"] == [
        {"class": "anger", "n_dissenting_votes": 2, "n_in_class_set": 1, "ratio": 0.5},
        {"class": "neutral", "n_dissenting_votes": 3, "n_in_class_set": 3, "ratio": 1.0},
        {"class": "sadness", "n_dissenting_votes": 2, "n_in_class_set": 1, "ratio": 0.5},
    ]
    assert considered["all"] == {"n_dissenting_votes": 7, "n_in_class_set": 5, "ratio": pytest.approx(5 / 7)}


def test_wrong_answers_that_equal_a_dissenting_vote(residual):
    assert residual["chance_level"] == 0.5  # 1 / (K - 1) with K = 3
    # Dissenting classes: u2 {n}, u5 {s, a}, u7 {s}, u9 {n}; the other utterances have none.
    # onelabel's wrong answers there: u2 n (equal), u5 s (equal), u7 a (not s), u9 n (equal).
    onelabel = residual["rows"]["onelabel"]
    assert [(c["n_wrong"], c["n_match"]) for c in onelabel["per_class"]] == [(1, 1), (2, 1), (1, 1)]
    assert [c["ratio"] for c in onelabel["per_class"]] == [1.0, 0.5, 1.0]
    # Chance for one wrong answer: |D| / (K - 1): u2 1/2, u5 2/2, u7 1/2, u9 1/2.
    assert [c["chance_level_adjusted"] for c in onelabel["per_class"]] == [0.5, 0.75, 0.5]
    assert onelabel["all"] == {"n_wrong": 4, "n_match": 3, "ratio": 0.75, "chance_level_adjusted": 0.625}
    # ctc: u2 n (equal), u5 a (equal: two dissenters), u9 a (not n); u3's empty decoding has no dissent.
    ctc = residual["rows"]["ctc"]
    assert [(c["n_wrong"], c["n_match"]) for c in ctc["per_class"]] == [(1, 1), (1, 1), (1, 0)]
    # dummy never errs on neutral: no wrong answer, no ratio.
    dummy = residual["rows"]["dummy"]
    assert dummy["per_class"][1]["n_wrong"] == 0 and dummy["per_class"][1]["ratio"] is None
    # Humans: u2 h2 n, u5 h3 s, u7 h1 s, u9 h3 n all equal a dissenting class (u3, u10 have none).
    human = residual["rows"]["human"]
    assert [(c["n_wrong"], c["n_match"]) for c in human["per_class"]] == [(1, 1), (2, 2), (1, 1)]


def test_an_empty_decoding_is_not_a_wrong_emotion():
    records = [UtteranceRecord("w1", "anger", "s", "s", (("anger",), ("anger",), ("sadness",)))]
    report = build_comparison(records, {"ctc": [Prediction("w1", None, 0)]}, None, CLASSES, seed=0)
    ctc = report["residual"]["rows"]["ctc"]
    assert ctc["all"]["n_wrong"] == 0 and ctc["n_no_class_excluded"] == 1
