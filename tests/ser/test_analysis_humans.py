"""The assessors: per assessor, over answer index, agreement among them and with each method."""

import pytest

from models_app.ser.analysis import AnalysisConfig, build_comparison
from models_app.ser.analysis.humans import (
    cohen_kappa,
    fleiss_kappa_first_answers,
    krippendorff_alpha_nominal,
    wilson_interval,
)
from models_app.ser.analysis.inputs import HumanJudgment
from tests.ser.analysis_dataset import (
    CLASSES,
    human_versus_method_dataset,
    judgments,
    main_judgments,
    predictions,
    utterances,
)


@pytest.fixture(scope="module")
def human():
    config = AnalysisConfig(answer_index_bin_width=3)
    return build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0, config=config)["human"]


def test_counts_say_what_was_left_out(human):
    # 6 warm-up answers, 20 main answers, 2 gold answers.
    assert (human["n_judgments"], human["n_warmup_excluded"], human["n_gold_excluded"]) == (28, 6, 2)
    assert (human["n_scored"], human["n_scored_with_label"], human["n_assessors"]) == (20, 20, 3)


def test_accuracy_per_assessor(human):
    # h1 5/7 (mean class (2/3 + 3/4) / 2), h2 6/7 ((2/3 + 1 + 1) / 3), h3 3/6 ((2/3 + 1/3) / 2).
    # Response times of main answers are 1000 (index + 1) ms: h1 and h2 3000..9000, h3 3000..8000;
    # the 500 ms warm-ups would pull the medians down if they counted.
    assert human["assessors"] == [
        {"assessor": "h1", "n": 7, "overall_accuracy": pytest.approx(5 / 7),
         "mean_class_accuracy": pytest.approx(17 / 24), "median_response_ms": 6000.0},
        {"assessor": "h2", "n": 7, "overall_accuracy": pytest.approx(6 / 7),
         "mean_class_accuracy": pytest.approx(8 / 9), "median_response_ms": 6000.0},
        {"assessor": "h3", "n": 6, "overall_accuracy": 0.5, "mean_class_accuracy": 0.5, "median_response_ms": 5500.0},
    ]  # a table: one assessor per row  # fmt: skip


def test_accuracy_over_answer_index(human):
    bins = human["answer_index"]["bins"]
    # Indices 0-2: h1 u1 right, h2 u1 right, h3 u5 wrong -> 2/3 (warm-ups at 0 and 1 left out).
    # Indices 3-5: h1 u2 u3 u4 (2 right), h2 u2 u3 u4 (2), h3 u6 u7 u8 (3) -> 7/9.
    # Indices 6-8: h1 u5 u6 u7 (2), h2 u8 u9 u10 (3), h3 u9 u10 (0) -> 5/8 (gold at 8 and 9 left out).
    assert [(b["start"], b["end"], b["n"]) for b in bins] == [(0, 2, 3), (3, 5, 9), (6, 8, 8)]
    assert [b["accuracy"] for b in bins] == pytest.approx([2 / 3, 7 / 9, 5 / 8])
    for b in bins:
        assert b["ci"][0] <= b["accuracy"] <= b["ci"][1]


def test_wilson_interval_matches_the_textbook_value():
    # 8 of 10: the Wilson 95% interval is (0.4902, 0.9433).
    assert wilson_interval(8, 10, 0.95) == pytest.approx([0.4902, 0.9433], abs=1e-4)
    assert wilson_interval(0, 0, 0.95) is None


@pytest.mark.parametrize("n", range(1, 60))
def test_wilson_interval_contains_its_estimate_when_all_or_none_are_right(n):
    # Issue 12: at 0 or n of n one bound lands a rounding error inside the estimate, and the report's
    # error bar became negative (a 500). 12 of 12 and 0 of 12 were such cases.
    for successes in (0, n):
        low, high = wilson_interval(successes, n, 0.95)
        assert low <= successes / n <= high


def test_fleiss_kappa_worked_by_hand(human):
    fleiss = human["fleiss_kappa"]
    # Two answers per utterance. Agreeing pairs on u1 u4 u6 u8: mean observed agreement 4/10.
    # Category totals over the 20 answers: anger 5, neutral 9, sadness 6 -> chance
    # 0.25^2 + 0.45^2 + 0.30^2 = 0.355. kappa = (0.4 - 0.355) / (1 - 0.355) = 0.045 / 0.645 = 3/43.
    assert fleiss["kappa"] == pytest.approx(3 / 43)
    assert (fleiss["n_utterances"], fleiss["n_utterances_truncated"], fleiss["n_utterances_too_few"]) == (10, 0, 0)


def test_krippendorff_alpha_worked_by_hand(human):
    # Nominal, 20 pairable values: 6 disagreeing utterances give 12 off-diagonal coincidences,
    # D_o = 12/20; D_e = (20^2 - (5^2 + 9^2 + 6^2)) / (20 * 19) = 258/380;
    # alpha = 1 - (12/20) / (258/380) = 30/258 = 5/43.
    assert human["krippendorff_alpha"]["alpha"] == pytest.approx(5 / 43)
    assert human["krippendorff_alpha"]["n_utterances_pairable"] == 10


def test_fleiss_keeps_the_first_two_answers_where_counts_differ():
    _, _, answers = human_versus_method_dataset()
    fleiss = fleiss_kappa_first_answers(answers, CLASSES, raters_per_utterance=2)
    # v1 (index 1 for all: h1 a, h2 a kept, h3 n dropped), v3 (n n), v5 (h3 a at 2, h1 s at 4 kept,
    # h2 s dropped). Table rows [2,0,0], [0,2,0], [1,0,1]: observed (1 + 1 + 0)/3 = 2/3;
    # category shares 3/6, 2/6, 1/6 -> chance (9 + 4 + 1)/36 = 7/18; kappa = (12/18 - 7/18)/(11/18) = 5/11.
    assert fleiss["kappa"] == pytest.approx(5 / 11)
    assert (fleiss["n_utterances"], fleiss["n_utterances_truncated"], fleiss["n_utterances_too_few"]) == (3, 2, 3)


def test_krippendorff_alpha_uses_every_answer_where_counts_differ():
    _, _, answers = human_versus_method_dataset()
    # Pairable utterances v1 (a a n), v3 (n n), v5 (s s a): 8 values. Coincidences (weight 1/(m-1)):
    # v1 adds aa 1, an 1, na 1; v3 adds nn 2; v5 adds ss 1, sa 1, as 1. Off-diagonal 4 -> D_o = 4/8.
    # Totals a 3, n 3, s 2: D_e = (64 - 9 - 9 - 4) / (8 * 7) = 42/56. alpha = 1 - 0.5 / 0.75 = 1/3.
    result = krippendorff_alpha_nominal(answers, CLASSES)
    assert result["alpha"] == pytest.approx(1 / 3)
    assert result["n_utterances_pairable"] == 3


def test_agreement_is_undefined_when_everyone_gives_one_answer():
    answers = [HumanJudgment(a, "u1", "anger", 1) for a in ("h1", "h2")]
    assert fleiss_kappa_first_answers(answers, CLASSES, 2)["kappa"] is None
    assert krippendorff_alpha_nominal(answers, CLASSES)["alpha"] is None


def test_cohen_kappa_between_the_human_majority_and_a_method():
    records, method, answers = human_versus_method_dataset()
    human = build_comparison(records, method, answers, CLASSES, seed=0)["human"]
    (kappa,) = human["cohen_kappa_with_methods"]
    # Majority a n n n s a; method a a n s s a. Observed agreement 4/6.
    # Human shares a 2/6, n 3/6, s 1/6; method a 3/6, n 1/6, s 2/6:
    # chance (2*3 + 3*1 + 1*2)/36 = 11/36; kappa = (24/36 - 11/36) / (25/36) = 13/25.
    assert kappa["row"] == "onelabel"
    assert kappa["observed_agreement"] == pytest.approx(4 / 6)
    assert kappa["expected_agreement"] == pytest.approx(11 / 36)
    assert kappa["kappa"] == pytest.approx(13 / 25)


def test_a_constant_method_agrees_with_humans_only_by_chance(human):
    # dummy always says neutral: p_o = share of neutral majorities = p_e, so kappa is 0 whatever
    # the coin chose on tied utterances.
    dummy = next(k for k in human["cohen_kappa_with_methods"] if k["row"] == "dummy")
    assert dummy["kappa"] == pytest.approx(0.0)


def test_cohen_kappa_degenerate_cases():
    assert cohen_kappa(["a", "a"], ["a", "a"])["kappa"] is None  # chance agreement 1: undefined
    assert cohen_kappa([], [])["kappa"] is None
    assert cohen_kappa(["a", "b"], ["b", "a"])["kappa"] == pytest.approx(-1.0)


def test_gold_accuracy(human):
    # h1 said sadness on u10 (right), h3 said sadness on u3 (anger: wrong).
    assert human["gold"] == {
        "n": 2,
        "accuracy": 0.5,
        "per_assessor": [{"assessor": "h1", "n": 1, "accuracy": 1.0}, {"assessor": "h3", "n": 1, "accuracy": 0.0}],
    }


def test_warmup_answers_change_no_number():
    with_warmups = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    without = build_comparison(
        utterances(), predictions(), [j for j in judgments() if not j.is_warmup], CLASSES, seed=0
    )
    for section in ("table1", "mcnemar", "confusion", "disagreement", "residual"):
        assert with_warmups[section] == without[section], section
    human_with, human_without = dict(with_warmups["human"]), dict(without["human"])
    assert (human_with.pop("n_judgments"), human_with.pop("n_warmup_excluded")) == (28, 6)
    assert (human_without.pop("n_judgments"), human_without.pop("n_warmup_excluded")) == (22, 0)
    assert human_with == human_without


def test_gold_answers_change_no_pooled_number():
    with_gold = build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)
    main_only = build_comparison(utterances(), predictions(), main_judgments(), CLASSES, seed=0)
    for section in ("table1", "mcnemar", "confusion", "disagreement", "residual"):
        assert with_gold[section] == main_only[section], section
