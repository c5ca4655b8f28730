"""Residual agreement (paper Table 2): do wrong answers fall where dissenting experts did?

The paper assumes at most one dissenting expert per utterance ("otherwise half of the experts
would be inconsistent"). With four raters two may dissent, and an IEMOCAP rater may tick several
categories, so the choices are made explicit here:

- The unit of the "considered ratio" is a dissenting *vote* (one rater). A vote is inside the
  class set when at least one of its categories is a class (it cannot hold the label itself,
  or it would not dissent). ``Sadness; Frustration`` therefore counts once, as inside.
- The dissenting classes D(u) of an utterance are all classes named by its dissenting votes.
  A wrong answer "equals the dissenting vote" when it is one of D(u).
- Only wrong answers that are classes are counted (the paper keeps "only four considered
  emotions from all the wrong answers"): an empty CTC decoding has no emotion to compare.
- A wrong answer picked uniformly among the K - 1 other classes lands in D(u) with probability
  |D(u)| / (K - 1). The paper's chance level 1/(K-1) holds when |D(u)| = 1; ``chance_level_adjusted``
  averages |D(u)| / (K - 1) over the counted wrong answers, the fair baseline when some
  utterances have two dissenting classes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .inputs import UtteranceId, UtteranceRecord
from .scoring import NO_CLASS, RowAnswers, share


def dissenting_classes(utterance: UtteranceRecord, classes: Sequence[str]) -> frozenset[str]:
    """D(u): the classes named by the utterance's dissenting expert votes."""
    return frozenset(category for vote in utterance.dissenting_votes for category in vote if category in classes)


def considered_ratio(utterances_by_id: Mapping[UtteranceId, UtteranceRecord], classes: Sequence[str]) -> dict:
    """Per class: dissenting expert votes, how many name a class of the class set, and the ratio."""
    class_set = set(classes)
    n_votes = dict.fromkeys(classes, 0)
    n_inside = dict.fromkeys(classes, 0)
    for utterance in utterances_by_id.values():
        if utterance.label not in class_set:
            continue
        for vote in utterance.dissenting_votes:
            n_votes[utterance.label] += 1
            n_inside[utterance.label] += int(any(category in class_set for category in vote))
    per_class = [
        {
            "class": c,
            "n_dissenting_votes": n_votes[c],
            "n_in_class_set": n_inside[c],
            "ratio": share(n_inside[c], n_votes[c]),
        }
        for c in classes
    ]
    total_votes, total_inside = sum(n_votes.values()), sum(n_inside.values())
    return {
        "per_class": per_class,
        "all": {
            "n_dissenting_votes": total_votes,
            "n_in_class_set": total_inside,
            "ratio": share(total_inside, total_votes),
        },
    }


def residual_agreement(
    rows: Mapping[str, RowAnswers],
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    classes: Sequence[str],
) -> dict:
    """Table 2 for every row: per class of the expert label, the wrong answers (that are classes)
    on utterances with a dissenting class, ``n_match`` of them equal to a dissenting class, the
    ``ratio`` and both chance levels. Human answers count one by one."""
    n_classes = len(classes)
    chance = 1.0 / (n_classes - 1)
    dissent = {u_id: dissenting_classes(u, classes) for u_id, u in utterances_by_id.items() if u.label in classes}
    table_rows = {}
    for name, row in rows.items():
        n_wrong = [0] * n_classes
        n_match = [0] * n_classes
        chance_sum = [0.0] * n_classes
        n_no_class = 0
        for utterance_id, true, predicted in zip(row.utterance_ids, row.true, row.predicted, strict=True):
            if predicted == true or not dissent[utterance_id]:
                continue
            if predicted == NO_CLASS:
                n_no_class += 1
                continue
            n_wrong[true] += 1
            n_match[true] += int(classes[predicted] in dissent[utterance_id])
            chance_sum[true] += len(dissent[utterance_id]) / (n_classes - 1)
        per_class = [
            {
                "class": classes[c],
                "n_wrong": n_wrong[c],
                "n_match": n_match[c],
                "ratio": share(n_match[c], n_wrong[c]),
                "chance_level_adjusted": share(chance_sum[c], n_wrong[c]),
            }
            for c in range(n_classes)
        ]
        table_rows[name] = {
            "per_class": per_class,
            "all": {
                "n_wrong": sum(n_wrong),
                "n_match": sum(n_match),
                "ratio": share(sum(n_match), sum(n_wrong)),
                "chance_level_adjusted": share(sum(chance_sum), sum(n_wrong)),
            },
            "n_no_class_excluded": n_no_class,
        }
    return {
        "classes": list(classes),
        "chance_level": chance,
        "considered": considered_ratio(utterances_by_id, classes),
        "rows": table_rows,
    }
