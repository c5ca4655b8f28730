"""The input records of the report analysis, on the hand-made dataset (tests/ser/analysis_dataset.py)."""

import pytest

from models_app.ser.analysis.inputs import (
    HumanJudgment,
    Prediction,
    UtteranceRecord,
    check_classes,
    check_judgments,
    check_predictions,
    index_utterances,
)
from tests.ser.analysis_dataset import HAP, A, N, utterances


def test_agreeing_and_dissenting_raters_follow_the_table_above():
    by_id = {u.id: u for u in utterances()}
    expected = {"u1": (3, 0), "u2": (2, 1), "u3": (2, 1), "u4": (4, 0), "u5": (2, 2), "u6": (3, 0),
                "u7": (2, 1), "u8": (3, 0), "u9": (2, 1), "u10": (2, 1)}  # (agreeing, dissenting): a table  # fmt: skip
    for u, (agreeing, dissenting) in expected.items():
        assert (by_id[u].n_agreeing, by_id[u].n_dissenting) == (agreeing, dissenting), u
    # u10's second rater ticked sadness and neutral: including the label, that rater agrees.
    assert by_id["u10"].dissenting_votes == ((HAP,),)
    # Without a label there is nothing to dissent from.
    assert by_id["u11"].n_agreeing == 0 and by_id["u11"].n_dissenting is None
    assert by_id["u11"].dissenting_votes == ()


def test_an_utterance_without_votes_has_no_dissent_count():
    record = UtteranceRecord("x", A, "spk", "ses")
    assert record.n_dissenting is None and record.n_agreeing == 0


@pytest.mark.parametrize("classes", [[A], [A, A], [A, ""]])
def test_a_class_set_that_cannot_order_a_matrix_is_refused(classes):
    with pytest.raises(ValueError):
        check_classes(classes)


def test_duplicate_utterance_ids_are_refused():
    with pytest.raises(ValueError, match="appears twice"):
        index_utterances(utterances() + [UtteranceRecord("u1", A, "A", "S1")])


def test_predictions_that_cannot_be_joined_are_refused_with_the_row_named():
    by_id = index_utterances(utterances())
    with pytest.raises(ValueError, match="'ctc' predicts unknown utterance 'u99'"):
        check_predictions({"ctc": [Prediction("u99", A, 0)]}, by_id)
    with pytest.raises(ValueError, match="twice"):
        check_predictions({"ctc": [Prediction("u1", A, 0), Prediction("u1", N, 0)]}, by_id)
    with pytest.raises(ValueError, match="human"):
        check_predictions({"human": [Prediction("u1", A, 0)]}, by_id)
    with pytest.raises(ValueError, match="2 class probabilities for utterance 'u1'; the class set has 3"):
        check_predictions({"onelabel": [Prediction("u1", A, 0, probabilities=(0.5, 0.5))]}, by_id, n_classes=3)


def test_judgments_that_cannot_be_joined_are_refused():
    by_id = index_utterances(utterances())
    with pytest.raises(ValueError, match="unknown utterance"):
        check_judgments([HumanJudgment("h1", "u99", A, 1)], by_id)
    with pytest.raises(ValueError, match="twice"):
        check_judgments([HumanJudgment("h1", "u1", A, 1), HumanJudgment("h1", "u1", N, 2)], by_id)
