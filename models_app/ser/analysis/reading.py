"""Table 1 in one plain sentence: which rows differ, by how much, and whether it survives Holm's
correction for the number of McNemar tests."""

from __future__ import annotations

from . import formats
from .inputs import HUMAN_ROW, row_label

# The family-wise error rate a difference must pass after Holm's correction to be called one.
ALPHA = 0.05


def _pair(report: dict, name_a: str, name_b: str) -> dict | None:
    for pair in report["mcnemar"]["pairs"]:
        if {pair["row_a"], pair["row_b"]} == {name_a, name_b}:
            return pair
    return None


def _compare(report: dict, first: str, second: str) -> str | None:
    """ "A is better than B (x% vs y%, p = ... after Holm's correction)" or "A and B do not differ"."""
    pair = _pair(report, first, second)
    if pair is None or pair["n"] == 0:
        return None
    # The pair's accuracies are on the utterances both rows answered (humans: the majority answer).
    accuracy = {pair["row_a"]: pair["accuracy_a"], pair["row_b"]: pair["accuracy_b"]}
    n_pairs = len(report["mcnemar"]["pairs"])
    evidence = (
        f"{formats.percent(accuracy[first])} vs {formats.percent(accuracy[second])} on {pair['n']} shared "
        f"utterances, McNemar p = {formats.p_value(pair['p_value_holm'])} after Holm's correction for "
        f"{n_pairs} comparison{'s' if n_pairs != 1 else ''}"
    )
    label_a, label_b = row_label(first), row_label(second)
    if pair["p_value_holm"] <= ALPHA and accuracy[first] != accuracy[second]:
        better, worse = (label_a, label_b) if accuracy[first] > accuracy[second] else (label_b, label_a)
        return f"{better} is better than {worse} ({evidence})"
    return f"{label_a} and {label_b} do not differ significantly ({evidence})"


def table1_reading(report: dict) -> str:
    """One line reading Table 1: the best method against the next best, and humans against the
    best method. Empty when fewer than two rows can be compared."""
    table = report["table1"]
    methods = sorted(
        (name for name in table if name != HUMAN_ROW),
        key=lambda name: (-(table[name]["overall_accuracy"] or 0.0), name),
    )
    clauses = []
    if len(methods) >= 2:
        clauses.append(_compare(report, methods[0], methods[1]))
    if methods and HUMAN_ROW in table:
        clauses.append(_compare(report, HUMAN_ROW, methods[0]))
    clauses = [clause for clause in clauses if clause]
    return "; ".join(clauses) + "." if clauses else ""
