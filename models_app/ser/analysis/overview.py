"""Data overview (paper figures 1b, 2a and 2b): what the corpus holds before any model runs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .inputs import UtteranceRecord
from .scoring import share


def data_overview(utterances: Sequence[UtteranceRecord], classes: Sequence[str]) -> dict:
    """Class distribution, expert agreement, consensus and counts per speaker and session.

    - ``class_distribution`` (figure 1b): utterances per class of the class set, with its share of
      the utterances labelled inside the class set.
    - ``outside_class_set``: labels the corpus has beyond the class set (IEMOCAP's frustration...).
    - ``consensus`` (figure 2b): utterances with and without a consensus label, over all utterances.
    - ``agreement`` (figure 2a): for each class, how many utterances have 0, 1, 2, ... expert raters
      whose vote includes the label; utterances without expert votes are counted apart.
    - ``speakers`` / ``sessions``: utterances per speaker and session, split by class.
    """
    classes = list(classes)
    in_set = [u for u in utterances if u.label in classes]
    per_class = Counter(u.label for u in in_set)
    n_in_set = len(in_set)
    n_no_consensus = sum(1 for u in utterances if u.label is None)
    outside = Counter(u.label for u in utterances if u.label is not None and u.label not in classes)

    with_votes = [u for u in in_set if u.expert_votes]
    max_raters = max((u.n_raters for u in with_votes), default=0)
    agreeing_values = list(range(0, max_raters + 1))
    agreement_counts = {c: [0] * len(agreeing_values) for c in classes}
    all_agree = Counter()
    for utterance in with_votes:
        agreement_counts[utterance.label][utterance.n_agreeing] += 1
        if utterance.n_dissenting == 0:
            all_agree[utterance.label] += 1
    n_with_votes = Counter(u.label for u in with_votes)

    return {
        "n_utterances": len(utterances),
        "n_in_class_set": n_in_set,
        "class_distribution": [
            {"class": c, "n": per_class[c], "share": share(per_class[c], n_in_set)} for c in classes
        ],
        "outside_class_set": [
            {"label": label, "n": n} for label, n in sorted(outside.items(), key=lambda item: (-item[1], item[0]))
        ],
        "consensus": {
            "n_labelled": len(utterances) - n_no_consensus,
            "n_no_consensus": n_no_consensus,
            "no_consensus_share": share(n_no_consensus, len(utterances)),
        },
        "agreement": {
            "n_agreeing_values": agreeing_values,
            "counts": agreement_counts,
            "n_all_agree": {c: all_agree[c] for c in classes},
            "all_agree_share": {c: share(all_agree[c], n_with_votes[c]) for c in classes},
            "n_without_votes": n_in_set - len(with_votes),
        },
        "speakers": _counts_by(utterances, classes, key=lambda u: u.speaker, name="speaker"),
        "sessions": _counts_by(utterances, classes, key=lambda u: u.session, name="session"),
    }


def _counts_by(utterances: Sequence[UtteranceRecord], classes: list[str], *, key, name: str) -> list[dict]:
    totals: Counter = Counter()
    per_class: dict[str, Counter] = {}
    for utterance in utterances:
        group = key(utterance)
        totals[group] += 1
        per_class.setdefault(group, Counter())
        if utterance.label in classes:
            per_class[group][utterance.label] += 1
    return [
        {
            name: group,
            "n": totals[group],
            "n_in_class_set": sum(per_class[group].values()),
            "per_class": [per_class[group][c] for c in classes],
        }
        for group in sorted(totals, key=str)
    ]
