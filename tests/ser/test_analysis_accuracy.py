"""Table 1 (accuracies, fold spread, bootstrap intervals) and McNemar tests, against hand counts."""

import math

import numpy as np
import pytest

from models_app.ser.analysis import AnalysisConfig, build_comparison
from models_app.ser.analysis.accuracy import mcnemar_test
from models_app.ser.analysis.inputs import HumanJudgment, UtteranceRecord
from models_app.ser.analysis.scoring import RowAnswers, bootstrap_intervals, human_majority, human_row
from tests.ser.analysis_dataset import (
    CLASSES,
    human_versus_method_dataset,
    judgments,
    predictions,
    utterances,
)


@pytest.fixture(scope="module")
def report():
    return build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)


def test_dummy_row(report):
    dummy = report["table1"]["dummy"]
    # Always "neutral": right on u4-u7 only. Overall 4/10; recalls anger 0/3, neutral 4/4, sadness 0/3.
    assert dummy["overall_accuracy"] == pytest.approx(0.4)
    assert dummy["mean_class_accuracy"] == pytest.approx(1 / 3)
    # Fold 0 (u1-u6): 3/6 right, recalls anger 0/3 and neutral 3/3 -> 0.5 (no sadness in the fold).
    # Fold 1 (u7-u10): 1/4 right, recalls neutral 1/1 and sadness 0/3 -> 0.5.
    assert [g["overall_accuracy"] for g in dummy["groups"]] == [0.5, 0.25]
    assert [g["mean_class_accuracy"] for g in dummy["groups"]] == [0.5, 0.5]
    # Sample std of (0.5, 0.25): |0.5 - 0.25| / sqrt(2).
    assert dummy["overall_accuracy_fold_std"] == pytest.approx(0.25 / math.sqrt(2))
    assert dummy["mean_class_accuracy_fold_std"] == pytest.approx(0.0)
    assert dummy["overall_accuracy_fold_mean"] == pytest.approx(0.375)
    assert dummy["n"] == 10 and dummy["n_folds"] == 2


def test_onelabel_row(report):
    onelabel = report["table1"]["onelabel"]
    # Right on u1 u3 u4 u6 u8 u10: 6/10. Recalls anger 2/3, neutral 2/4, sadness 2/3:
    # (2/3 + 1/2 + 2/3) / 3 = 11/18.
    assert onelabel["overall_accuracy"] == pytest.approx(0.6)
    assert onelabel["mean_class_accuracy"] == pytest.approx(11 / 18)
    assert onelabel["per_class_recall"] == pytest.approx([2 / 3, 1 / 2, 2 / 3])
    # Fold 0: 4/6, recalls anger 2/3 neutral 2/3 -> 2/3.  Fold 1: 2/4, recalls neutral 0/1 sadness 2/3 -> 1/3.
    assert onelabel["overall_accuracy_fold_std"] == pytest.approx((2 / 3 - 1 / 2) / math.sqrt(2))
    assert onelabel["mean_class_accuracy_fold_std"] == pytest.approx((2 / 3 - 1 / 3) / math.sqrt(2))


def test_empty_ctc_decoding_counts_as_an_error(report):
    ctc = report["table1"]["ctc"]
    # Right on u1 u4 u6 u7 u8 (u3's empty decoding is wrong): 5/10.
    # Recalls anger 1/3, neutral 3/4, sadness 1/3: (4/12 + 9/12 + 4/12) / 3 = 17/36.
    assert ctc["overall_accuracy"] == pytest.approx(0.5)
    assert ctc["mean_class_accuracy"] == pytest.approx(17 / 36)
    assert ctc["n_no_class"] == 1
    # Both folds 0.5 overall; mean class 0.5 (fold 0) and 2/3 (fold 1).
    assert ctc["overall_accuracy_fold_std"] == pytest.approx(0.0)
    assert ctc["mean_class_accuracy_fold_std"] == pytest.approx((2 / 3 - 1 / 2) / math.sqrt(2))


def test_human_row_pools_answers_and_has_no_fold_spread(report):
    human = report["table1"]["human"]
    # 20 main answers, 14 right (h1 5/7, h2 6/7, h3 3/6). Per class: anger 4/6, neutral 6/8, sadness 4/6.
    assert human["overall_accuracy"] == pytest.approx(0.7)
    assert human["mean_class_accuracy"] == pytest.approx((2 / 3 + 3 / 4 + 2 / 3) / 3)  # 25/36
    assert human["n"] == 20 and human["n_utterances"] == 10 and human["n_assessors"] == 3
    assert human["overall_accuracy_fold_std"] is None and human["mean_class_accuracy_fold_std"] is None
    # Per assessor overall 5/7, 6/7, 1/2: mean 29/42, deviations 1/42, 7/42, -8/42,
    # sample variance (1 + 49 + 64) / 42^2 / 2 = 57 / 42^2.
    assert human["overall_accuracy_assessor_std"] == pytest.approx(math.sqrt(57) / 42)
    # Per assessor mean class: h1 (2/3 + 3/4)/2 = 17/24, h2 (2/3 + 1 + 1)/3 = 8/9, h3 (2/3 + 1/3)/2 = 1/2,
    # in 216ths: 153, 192, 108; mean 151; deviations 2, 41, -43; variance (4 + 1681 + 1849) / 216^2 / 2.
    assert human["mean_class_accuracy_assessor_std"] == pytest.approx(math.sqrt(1767) / 216)


def test_bootstrap_interval_contains_the_estimate_and_repeats_for_a_seed(report):
    for name, entry in report["table1"].items():
        for key in ("overall_accuracy", "mean_class_accuracy"):
            low, high = entry[f"{key}_ci"]
            assert low <= entry[key] <= high, (name, key)
    again = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    assert again["table1"] == report["table1"]


def test_a_different_seed_draws_different_resamples():
    first = build_comparison(utterances(), predictions(), None, CLASSES, seed=0)["table1"]
    other = build_comparison(utterances(), predictions(), None, CLASSES, seed=1)["table1"]
    assert [first[r]["overall_accuracy"] for r in first] == [other[r]["overall_accuracy"] for r in other]
    assert [first[r]["mean_class_accuracy_ci"] for r in first] != [other[r]["mean_class_accuracy_ci"] for r in other]


def _row(correct: np.ndarray, utterance_ids, name="method") -> RowAnswers:
    n = len(correct)
    return RowAnswers(
        name=name,
        utterance_ids=tuple(utterance_ids),
        true=np.zeros(n, dtype=int),
        predicted=np.where(correct, 0, 1),
        answers=tuple("anger" if c else "neutral" for c in correct),
        groups=(0,) * n,
    )


def test_bootstrap_width_matches_the_binomial_standard_error():
    # 400 utterances, half right: the 95% interval is about 0.5 +- 1.96 sqrt(0.25 / 400) = 0.5 +- 0.049.
    correct = np.arange(400) % 2 == 0
    low, high = bootstrap_intervals(_row(correct, range(400)), 2, AnalysisConfig())["overall_accuracy"]
    assert (high - low) / 2 == pytest.approx(1.96 * math.sqrt(0.25 / 400), abs=0.006)


def test_bootstrap_resamples_utterances_not_answers():
    # 200 utterances with two identical answers each: the information is that of 200 utterances,
    # so the half-width is 1.96 sqrt(0.25 / 200) = 0.069, not the 0.049 of 400 independent answers.
    correct = np.repeat(np.arange(200) % 2 == 0, 2)
    utterance_ids = np.repeat(np.arange(200), 2)
    low, high = bootstrap_intervals(_row(correct, utterance_ids), 2, AnalysisConfig())["overall_accuracy"]
    assert (high - low) / 2 == pytest.approx(1.96 * math.sqrt(0.25 / 200), abs=0.008)


def test_pairwise_mcnemar_counts_discordant_utterances(report):
    pairs = {(p["row_a"], p["row_b"]): p for p in report["mcnemar"]["pairs"]}
    # dummy right on u4 u5 u6 u7; onelabel right on u1 u3 u4 u6 u8 u10.
    # b = dummy right, onelabel wrong: u5 u7 = 2; c = the reverse: u1 u3 u8 u10 = 4.
    # Exact: 2 P(X <= 2), X ~ Bin(6, 1/2) = 2 (1 + 6 + 15) / 64 = 44/64.
    dummy_onelabel = pairs[("dummy", "onelabel")]
    assert (dummy_onelabel["b"], dummy_onelabel["c"], dummy_onelabel["n"]) == (2, 4, 10)
    assert dummy_onelabel["test"] == "exact"
    assert dummy_onelabel["p_value"] == pytest.approx(44 / 64)
    # onelabel vs ctc (ctc right on u1 u4 u6 u7 u8): b = u3 u10 = 2, c = u7 = 1; 2 P(X <= 1 | 3) = 1.
    onelabel_ctc = pairs[("onelabel", "ctc")]
    assert (onelabel_ctc["b"], onelabel_ctc["c"], onelabel_ctc["p_value"]) == (2, 1, pytest.approx(1.0))
    # Every pair of the four rows, the human one as majority answers per utterance.
    assert len(pairs) == 6
    assert pairs[("dummy", "human")]["n"] == 10
    # Six utterances (u2 u3 u5 u7 u9 u10) have two different human answers: a coin decides.
    assert report["mcnemar"]["n_human_majority_ties"] == 6


def test_mcnemar_switches_to_the_chi_square_above_the_exact_limit():
    # b + c = 6 <= 25: exact, 2 P(X <= 1 | 6) = 2 (1 + 6) / 64.
    assert mcnemar_test(1, 5, exact_max_discordant=25)["p_value"] == pytest.approx(14 / 64)
    # b + c = 40: (|30 - 10| - 1)^2 / 40 = 9.025; chi-square(1) tail = erfc(sqrt(9.025 / 2)).
    result = mcnemar_test(30, 10, exact_max_discordant=25)
    assert result["test"] == "chi2"
    assert result["statistic"] == pytest.approx(9.025)
    assert result["p_value"] == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))
    assert mcnemar_test(0, 0, exact_max_discordant=25)["p_value"] == 1.0


def test_mcnemar_against_the_human_majority():
    records, method, answers = human_versus_method_dataset()
    report = build_comparison(records, method, answers, CLASSES, seed=0)
    (pair,) = report["mcnemar"]["pairs"]
    # Method right on v1 v2 v3 v5; human majority right on v1 v3 v4 v5.
    # b = method right, human wrong: v2; c = human right, method wrong: v4.
    assert (pair["row_a"], pair["row_b"], pair["n"], pair["b"], pair["c"]) == ("onelabel", "human", 6, 1, 1)
    assert pair["accuracy_a"] == pytest.approx(4 / 6) and pair["accuracy_b"] == pytest.approx(4 / 6)
    assert report["mcnemar"]["n_human_majority_ties"] == 0


def test_tied_human_answers_are_broken_by_a_seeded_coin():
    # 400 utterances each with one right and one wrong answer: every majority is a tie.
    records = [UtteranceRecord(i, "anger", "s", "s") for i in range(400)]
    answers = [HumanJudgment("h1", i, "anger", i) for i in range(400)] + [
        HumanJudgment("h2", i, "neutral", i) for i in range(400)
    ]
    row = human_row(answers, {r.id: r for r in records}, CLASSES)
    first, again, other = human_majority(row, seed=0), human_majority(row, seed=0), human_majority(row, seed=1)
    assert first.n_ties == 400
    assert first.answers == again.answers and first.answers != other.answers
    assert set(first.answers.values()) == {"anger", "neutral"}
    # Neither assessor is favoured: about half the coins pick the right answer.
    share_right = sum(a == "anger" for a in first.answers.values()) / 400
    assert 0.4 < share_right < 0.6
