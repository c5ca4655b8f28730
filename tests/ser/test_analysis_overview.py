"""Data overview (figures 1b, 2a, 2b) on the hand-made dataset of tests/ser/analysis_dataset.py."""

import pytest

from models_app.ser.analysis.inputs import UtteranceRecord
from models_app.ser.analysis.overview import data_overview
from tests.ser.analysis_dataset import CLASSES, utterances


@pytest.fixture(scope="module")
def overview():
    return data_overview(utterances(), CLASSES)


def test_class_distribution_counts_only_the_class_set(overview):
    # anger u1-u3, neutral u4-u7, sadness u8-u10: 3 + 4 + 3 = 10 of the 12 utterances.
    assert overview["n_utterances"] == 12
    assert overview["n_in_class_set"] == 10
    assert overview["class_distribution"] == [
        {"class": "anger", "n": 3, "share": pytest.approx(0.3)},
        {"class": "neutral", "n": 4, "share": pytest.approx(0.4)},
        {"class": "sadness", "n": 3, "share": pytest.approx(0.3)},
    ]
    assert overview["outside_class_set"] == [{"label": "happiness", "n": 1}]


def test_no_consensus_share_is_over_all_utterances(overview):
    # u11 has no label; u12's label (happiness) is a label, only outside the class set: 1 / 12.
    assert overview["consensus"] == {"n_labelled": 11, "n_no_consensus": 1, "no_consensus_share": pytest.approx(1 / 12)}


def test_agreement_histogram_counts_raters_agreeing_with_each_label(overview):
    agreement = overview["agreement"]
    # Up to 4 raters (u4, u5), so columns 0..4 agreeing raters.
    assert agreement["n_agreeing_values"] == [0, 1, 2, 3, 4]
    # anger: u1 3, u2 2, u3 2.  neutral: u4 4, u5 2, u6 3, u7 2.  sadness: u8 3, u9 2, u10 2
    # (u10's rater who ticked sadness and neutral agrees).
    assert agreement["counts"] == {"anger": [0, 0, 2, 1, 0], "neutral": [0, 0, 2, 1, 1], "sadness": [0, 0, 2, 1, 0]}
    # All raters agree: u1; u4 and u6; u8.
    assert agreement["n_all_agree"] == {"anger": 1, "neutral": 2, "sadness": 1}
    assert agreement["all_agree_share"] == {
        "anger": pytest.approx(1 / 3),
        "neutral": 0.5,
        "sadness": pytest.approx(1 / 3),
    }
    assert agreement["n_without_votes"] == 0


def test_counts_per_speaker_and_session(overview):
    # Speakers: A = u1 u2 u3 u7, B = u4 u5 u6 u8, C = u9 u10 u11 u12 (two of them outside the set).
    assert overview["speakers"] == [
        {"speaker": "A", "n": 4, "n_in_class_set": 4, "per_class": [3, 1, 0]},
        {"speaker": "B", "n": 4, "n_in_class_set": 4, "per_class": [0, 3, 1]},
        {"speaker": "C", "n": 4, "n_in_class_set": 2, "per_class": [0, 0, 2]},
    ]
    assert overview["sessions"] == [
        {"session": "S1", "n": 6, "n_in_class_set": 6, "per_class": [3, 3, 0]},
        {"session": "S2", "n": 6, "n_in_class_set": 4, "per_class": [0, 1, 3]},
    ]


def test_utterances_without_votes_are_counted_apart():
    records = [UtteranceRecord("e1", "anger", "s", "s"), UtteranceRecord("e2", "anger", "s", "s", (("anger",),))]
    agreement = data_overview(records, CLASSES)["agreement"]
    assert agreement["n_without_votes"] == 1
    assert agreement["counts"]["anger"] == [0, 1]
