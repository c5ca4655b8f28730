"""The explorer's search, filters, sort and pages, against hand-picked rows."""

import pytest

from models_app.ser.analysis.explorer import PER_PAGE, ExplorerQuery, explore


def _row(name, label, humans, framewise, ctc, n_dissenting=0, confidence=0.5):
    return {
        "name": name,
        "public_id": name,
        "label": label,
        "n_dissenting": n_dissenting,
        "humans": humans,
        "methods": {
            "framewise": {"predicted": framewise, "confidence": confidence},
            "ctc": {"predicted": ctc, "confidence": None if ctc is None else 1 - confidence},
        },
    }


ROWS = [
    _row("Ses01F_a", "anger", ["anger", "anger"], "anger", "anger", 0, 0.9),
    _row("Ses01F_b", "anger", ["sadness", "neutral"], "sadness", "neutral", 2, 0.7),  # all wrong
    _row("Ses05M_057", "neutral", ["neutral", "sadness"], "sadness", None, 1, 0.6),  # empty CTC decoding
    _row("Ses05M_058", "sadness", ["neutral", "neutral"], "sadness", "neutral", 1, 0.3),
]
METHODS = ["framewise", "ctc"]


def _names(query, rows=ROWS):
    return [r["name"] for r in explore(rows, query, METHODS)["rows"]]


def test_the_most_disputed_first_by_default():
    # Wrong answers: b 2 humans + 2 methods = 4; 057: 1 + 2 = 3; 058: 2 + 1 = 3; a: 0.
    assert _names(ExplorerQuery()) == ["Ses01F_b", "Ses05M_057", "Ses05M_058", "Ses01F_a"]
    first = explore(ROWS, ExplorerQuery(), METHODS)["rows"][0]
    assert (first["n_wrong_humans"], first["n_humans"], first["n_wrong_methods"], first["n_methods"]) == (2, 2, 2, 2)


def test_search_by_name_is_case_insensitive():
    assert _names(ExplorerQuery(q="ses05m_05")) == ["Ses05M_057", "Ses05M_058"]
    assert _names(ExplorerQuery(q="057")) == ["Ses05M_057"]


def test_filters():
    assert _names(ExplorerQuery(label="anger", sort="name")) == ["Ses01F_a", "Ses01F_b"]
    assert _names(ExplorerQuery(human="sadness", sort="name")) == ["Ses01F_b", "Ses05M_057"]
    assert _names(ExplorerQuery(method="framewise", method_answer="sadness", sort="name")) == [
        "Ses01F_b",
        "Ses05M_057",
        "Ses05M_058",
    ]
    assert _names(ExplorerQuery(method="framewise", method_correct="correct", sort="name")) == [
        "Ses01F_a",
        "Ses05M_058",
    ]
    # An empty CTC decoding is a wrong prediction.
    assert _names(ExplorerQuery(method="ctc", method_correct="incorrect", sort="name")) == [
        "Ses01F_b",
        "Ses05M_057",
        "Ses05M_058",
    ]
    assert _names(ExplorerQuery(dissent=1, sort="name")) == ["Ses05M_057", "Ses05M_058"]
    assert _names(ExplorerQuery(both_wrong=True)) == ["Ses01F_b"]
    assert _names(ExplorerQuery(label="anger", both_wrong=True, q="a")) == []


def test_sort_by_model_confidence():
    # Framewise's confidence: a 0.9, b 0.7, 057 0.6, 058 0.3 (the first method when none is chosen).
    assert _names(ExplorerQuery(sort="confidence")) == ["Ses01F_a", "Ses01F_b", "Ses05M_057", "Ses05M_058"]
    assert _names(ExplorerQuery(sort="-confidence")) == ["Ses05M_058", "Ses05M_057", "Ses01F_b", "Ses01F_a"]
    # CTC's: 1 - framewise's, none for the empty decoding, which goes last either way.
    assert _names(ExplorerQuery(method="ctc", sort="confidence")) == [
        "Ses05M_058",
        "Ses01F_b",
        "Ses01F_a",
        "Ses05M_057",
    ]
    assert _names(ExplorerQuery(method="ctc", sort="-confidence"))[-1] == "Ses05M_057"


def test_pages_say_showing_x_to_y_of_n():
    rows = [_row(f"u{i:03d}", "anger", [], "anger", "anger") for i in range(120)]
    first = explore(rows, ExplorerQuery(sort="name"), METHODS)
    assert (first["total"], first["start"], first["end"], first["n_pages"]) == (120, 1, PER_PAGE, 3)
    last = explore(rows, ExplorerQuery(sort="name", page=3), METHODS)
    assert (last["start"], last["end"], last["page"]) == (101, 120, 3)
    assert last["rows"][0]["name"] == "u100"
    # A page past the end shows the last one.
    assert explore(rows, ExplorerQuery(page=99), METHODS)["page"] == 3
    empty = explore(rows, ExplorerQuery(q="nothing"), METHODS)
    assert (empty["total"], empty["start"], empty["end"], empty["rows"]) == (0, 0, 0, [])


def test_a_bad_query_is_refused():
    with pytest.raises(ValueError, match="sort"):
        ExplorerQuery(sort="random")
    with pytest.raises(ValueError, match="page"):
        ExplorerQuery(page=0)
