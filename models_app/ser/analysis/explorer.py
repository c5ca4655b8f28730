"""The utterance explorer's list (issue 16): search, filters, sort and pages over the per-utterance
rows stored with a report. Plain data in, plain data out; the web side parses the query string.

A row: ``{"name", "public_id", "label", "n_dissenting", "humans": [answers], "methods": {row name:
{"predicted": class or None (an empty decoding), "confidence": top class probability or None}}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# Rows per page: a screenful with room to scan, and a page that renders at once.
PER_PAGE = 50
SORTS = ("disputed", "confidence", "-confidence", "name")
CORRECTNESS = ("", "correct", "incorrect")


@dataclass(frozen=True)
class ExplorerQuery:
    """What the researcher asked for; every field empty means "all, most disputed first".

    ``method`` chooses the row that ``method_answer`` / ``method_correct`` filter on and whose
    confidence sorts. ``both_wrong``: utterances where every human answer and every method's
    prediction is wrong (at least one of each): the residual-agreement cases.
    """

    q: str = ""
    label: str = ""
    human: str = ""
    method: str = ""
    method_answer: str = ""
    method_correct: str = ""
    dissent: int | None = None
    both_wrong: bool = False
    sort: str = "disputed"
    page: int = 1

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        if self.method_correct not in CORRECTNESS:
            raise ValueError(f"method_correct must be 'correct', 'incorrect' or empty, got {self.method_correct!r}")
        if self.page < 1:
            raise ValueError(f"page must be at least 1, got {self.page}")
        if self.dissent is not None and self.dissent < 0:
            raise ValueError(f"dissent must not be negative, got {self.dissent}")


def wrong_counts(row: dict) -> tuple[int, int, int, int]:
    """(wrong human answers, human answers, wrong method rows, method rows) of one utterance."""
    label = row["label"]
    humans = row["humans"]
    methods = row["methods"].values()
    wrong_humans = sum(1 for answer in humans if answer != label)
    wrong_methods = sum(1 for m in methods if m["predicted"] != label)
    return wrong_humans, len(humans), wrong_methods, len(row["methods"])


def _confidence_row(query: ExplorerQuery, method_names: Sequence[str]) -> str | None:
    if query.method:
        return query.method
    return method_names[0] if method_names else None


def explore(rows: Sequence[dict], query: ExplorerQuery, method_names: Sequence[str] = ()) -> dict:
    """The page of rows the query asks for.

    Returns ``total`` (rows matching), ``start`` and ``end`` (1-based, inclusive; 0 and 0 when none),
    ``page`` (clamped to the last page), ``n_pages``, ``confidence_row`` (the method whose
    confidence is shown and sorted on) and ``rows`` (each with its wrong counts added).
    """
    needle = query.q.strip().lower()
    confidence_row = _confidence_row(query, method_names)
    matched = []
    for row in rows:
        if needle and needle not in row["name"].lower():
            continue
        if query.label and row["label"] != query.label:
            continue
        if query.human and query.human not in row["humans"]:
            continue
        if query.dissent is not None and row["n_dissenting"] != query.dissent:
            continue
        if query.method:
            method = row["methods"].get(query.method)
            if method is None:
                continue
            predicted = method["predicted"]
            if query.method_answer and predicted != query.method_answer:
                continue
            if query.method_correct == "correct" and predicted != row["label"]:
                continue
            if query.method_correct == "incorrect" and predicted == row["label"]:
                continue
        wrong_humans, n_humans, wrong_methods, n_methods = wrong_counts(row)
        if query.both_wrong and not (
            n_humans and n_methods and wrong_humans == n_humans and wrong_methods == n_methods
        ):
            continue
        confidence = None
        if confidence_row is not None and confidence_row in row["methods"]:
            confidence = row["methods"][confidence_row]["confidence"]
        matched.append(
            {
                **row,
                "n_wrong_humans": wrong_humans,
                "n_humans": n_humans,
                "n_wrong_methods": wrong_methods,
                "n_methods": n_methods,
                "confidence": confidence,
            }
        )
    if query.sort == "disputed":
        matched.sort(key=lambda r: (-(r["n_wrong_humans"] + r["n_wrong_methods"]), r["name"]))
    elif query.sort == "name":
        matched.sort(key=lambda r: r["name"])
    else:
        # Rows without a confidence (no probabilities stored) go last either way.
        sign = -1.0 if query.sort == "confidence" else 1.0
        matched.sort(key=lambda r: (r["confidence"] is None, sign * (r["confidence"] or 0.0), r["name"]))
    total = len(matched)
    n_pages = max(1, -(-total // PER_PAGE))
    page = min(query.page, n_pages)
    first = (page - 1) * PER_PAGE
    shown = matched[first : first + PER_PAGE]
    return {
        "total": total,
        "start": first + 1 if shown else 0,
        "end": first + len(shown),
        "page": page,
        "n_pages": n_pages,
        "confidence_row": confidence_row,
        "rows": shown,
    }
