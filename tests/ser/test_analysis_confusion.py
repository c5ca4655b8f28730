"""Confusion matrices (figures 6a, 7a) and the error-against-disagreement table (figure 6b)."""

import pytest

from models_app.ser.analysis import build_comparison
from tests.ser.analysis_dataset import CLASSES, judgments, predictions, utterances


@pytest.fixture(scope="module")
def report():
    return build_comparison(utterances(), predictions(), judgments(), CLASSES, seed=0)


def test_confusion_counts_in_the_class_order(report):
    confusion = report["confusion"]
    assert confusion["classes"] == CLASSES
    rows = confusion["rows"]
    # Rows expert label (anger, neutral, sadness), columns answer, from the prediction table.
    assert rows["dummy"]["counts"] == [[0, 3, 0], [0, 4, 0], [0, 3, 0]]
    # onelabel: anger u1 a, u2 n, u3 a; neutral u4 n, u5 s, u6 n, u7 a; sadness u8 s, u9 n, u10 s.
    assert rows["onelabel"]["counts"] == [[2, 1, 0], [1, 2, 1], [0, 1, 2]]
    # ctc: anger u1 a, u2 n, u3 empty; neutral u4 n, u5 a, u6 n, u7 n; sadness u8 s, u9 a, u10 a.
    assert rows["ctc"]["counts"] == [[1, 1, 0], [1, 3, 0], [2, 0, 1]]
    assert rows["ctc"]["no_class"] == [1, 0, 0]
    # Humans, answers pooled: anger u1 a a, u2 a n, u3 n a; neutral u4 n n, u5 n s, u6 n n, u7 s n;
    # sadness u8 s s, u9 s n, u10 s a.
    assert rows["human"]["counts"] == [[4, 2, 0], [0, 6, 2], [1, 1, 4]]


def test_confusion_is_normalised_by_row_including_empty_decodings(report):
    onelabel = report["confusion"]["rows"]["onelabel"]["normalized"]
    assert onelabel == [
        pytest.approx([2 / 3, 1 / 3, 0.0]),
        pytest.approx([1 / 4, 2 / 4, 1 / 4]),
        pytest.approx([0.0, 1 / 3, 2 / 3]),
    ]
    ctc = report["confusion"]["rows"]["ctc"]
    # u3's empty decoding stays in anger's total of 3: the row sums to 2/3, the rest is no_class_share.
    assert ctc["row_totals"] == [3, 4, 3]
    assert ctc["normalized"][0] == pytest.approx([1 / 3, 1 / 3, 0.0])
    assert ctc["no_class_share"] == pytest.approx([1 / 3, 0.0, 0.0])


def test_disagreement_table_per_class_and_dissenting_experts(report):
    table = report["disagreement"]
    # u5 has two dissenters (four raters), so the columns are 0, 1, 2.
    assert table["n_dissenting_values"] == [0, 1, 2]
    onelabel = table["rows"]["onelabel"]
    # Utterances per cell: anger u1 | u2 u3 | -; neutral u4 u6 | u7 | u5; sadness u8 | u9 u10 | -.
    assert onelabel["n"] == [[1, 2, 0], [2, 1, 1], [1, 2, 0]]
    # onelabel is wrong on u2 (anger, 1), u7 (neutral, 1), u5 (neutral, 2), u9 (sadness, 1).
    assert onelabel["errors"] == [[0, 1, 0], [0, 1, 1], [0, 1, 0]]
    assert onelabel["error_rate"] == [[0.0, 0.5, None], [0.0, 1.0, 1.0], [0.0, 0.5, None]]
    assert onelabel["error_rate_all_classes"] == [0.0, pytest.approx(3 / 5), 1.0]
    # All experts agree on u1 u4 u6 u8, all four right.
    assert (onelabel["accuracy_all_agree"], onelabel["n_all_agree"]) == (1.0, 4)

    ctc = table["rows"]["ctc"]
    # ctc is wrong on u2 u3 (anger, 1), u5 (neutral, 2), u9 u10 (sadness, 1).
    assert ctc["error_rate"] == [[0.0, 1.0, None], [0.0, 0.0, 1.0], [0.0, 1.0, None]]
    dummy = table["rows"]["dummy"]
    # dummy is right on the unanimous u4 and u6 only of u1 u4 u6 u8.
    assert dummy["accuracy_all_agree"] == 0.5


def test_disagreement_table_counts_human_answers(report):
    human = report["disagreement"]["rows"]["human"]
    # Two answers per utterance: anger u1 (2) | u2 u3 (4); neutral u4 u6 (4) | u7 (2) | u5 (2); ...
    assert human["n"] == [[2, 4, 0], [4, 2, 2], [2, 4, 0]]
    # Wrong: u2 h2, u3 h1 (anger, 1); u7 h1 (neutral, 1); u5 h3 (neutral, 2); u9 h3, u10 h3 (sadness, 1).
    assert human["errors"] == [[0, 2, 0], [0, 1, 1], [0, 2, 0]]
    assert human["error_rate"] == [[0.0, 0.5, None], [0.0, 0.5, 0.5], [0.0, 0.5, None]]
    assert (human["accuracy_all_agree"], human["n_all_agree"]) == (1.0, 8)
