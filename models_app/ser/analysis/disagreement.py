"""Error against expert disagreement (paper figure 6b, and its "about 65%" on unanimous utterances)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .inputs import UtteranceId, UtteranceRecord
from .scoring import RowAnswers, share


def disagreement_table(
    rows: Mapping[str, RowAnswers],
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    classes: Sequence[str],
) -> dict:
    """Error rate per (expert label, number of dissenting experts), for every row.

    A dissenting expert is a rater whose vote does not include the label. Columns run from 0 to
    the largest number of dissenters among the utterances labelled inside the class set, the same
    for every row. Human cells count answers (two assessors on one utterance count twice), like
    the pooled human accuracy. Utterances without expert votes (corpora that ship only a label)
    cannot be placed in a column and are counted in ``n_without_votes``.

    Per row: ``errors`` and ``n`` (K, D) counts, ``error_rate`` (K, D) (None for an empty cell),
    ``error_rate_all_classes`` (D,), and ``accuracy_all_agree``: accuracy on utterances whose
    experts all agree (column 0).
    """
    n_classes = len(classes)
    dissent_of = {u_id: u.n_dissenting for u_id, u in utterances_by_id.items() if u.label in classes}
    n_columns = max((d for d in dissent_of.values() if d is not None), default=-1) + 1
    table_rows = {}
    for name, row in rows.items():
        errors = np.zeros((n_classes, n_columns), dtype=int)
        counts = np.zeros((n_classes, n_columns), dtype=int)
        n_without_votes = 0
        for utterance_id, true, correct in zip(row.utterance_ids, row.true, row.correct, strict=True):
            n_dissenting = dissent_of[utterance_id]
            if n_dissenting is None:
                n_without_votes += 1
                continue
            counts[true, n_dissenting] += 1
            errors[true, n_dissenting] += int(not correct)
        error_rate = [[share(errors[c, d], counts[c, d]) for d in range(n_columns)] for c in range(n_classes)]
        column_errors = errors.sum(axis=0)
        column_counts = counts.sum(axis=0)
        n_all_agree = int(column_counts[0]) if n_columns else 0
        table_rows[name] = {
            "errors": errors.tolist(),
            "n": counts.tolist(),
            "error_rate": error_rate,
            "error_rate_all_classes": [share(column_errors[d], column_counts[d]) for d in range(n_columns)],
            "n_all_classes": column_counts.tolist(),
            "accuracy_all_agree": share(n_all_agree - int(column_errors[0]), n_all_agree) if n_columns else None,
            "n_all_agree": n_all_agree,
            "n_without_votes": n_without_votes,
        }
    return {"classes": list(classes), "n_dissenting_values": list(range(n_columns)), "rows": table_rows}
