"""The paper's consensus rule, as a pure function.

"Emotion is assigned to the utterance if and only if at least half of experts were consistent
in their evaluation" (paper, section 2.1). A rater may tick several categories (IEMOCAP's
``Neutral; Anger;``); such a rater counts as choosing each of them. Self-evaluations by the
speaker are not expert votes and are left out before calling this.

When two categories both reach half (two raters of four say anger, two say sadness) the rule
names no single emotion, so the utterance gets no label: a tie is disagreement, not consensus.
"""

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Consensus:
    label: str | None  # None: no category reached half of the raters (or a tie at the top)
    n_raters: int
    n_agreeing: int  # raters whose vote includes the label (0 without a label)
    n_dissenting: int | None  # raters whose vote does not include the label; None without a label


def consensus_from_votes(votes: Sequence[Collection[str]]) -> Consensus:
    """``votes``: one collection of category names per expert rater."""
    n_raters = len(votes)
    if n_raters == 0:
        return Consensus(label=None, n_raters=0, n_agreeing=0, n_dissenting=None)
    counts = Counter(category for vote in votes for category in set(vote))
    reaching_half = {c: n for c, n in counts.items() if 2 * n >= n_raters}
    if not reaching_half:
        return Consensus(label=None, n_raters=n_raters, n_agreeing=0, n_dissenting=None)
    top = max(reaching_half.values())
    leaders = [c for c, n in reaching_half.items() if n == top]
    if len(leaders) > 1:
        return Consensus(label=None, n_raters=n_raters, n_agreeing=0, n_dissenting=None)
    label = leaders[0]
    return dissent_for_label(votes, label)


def dissent_for_label(votes: Sequence[Collection[str]], label: str) -> Consensus:
    """Agreement counts for a label fixed elsewhere (IEMOCAP's own header code)."""
    n_agreeing = sum(1 for vote in votes if label in vote)
    return Consensus(
        label=label,
        n_raters=len(votes),
        n_agreeing=n_agreeing,
        n_dissenting=len(votes) - n_agreeing,
    )
