"""Simulated expert votes: 3 or 4 raters per utterance, with human-like disagreement.

Each rater hears the rendered emotion and names it with a probability that grows with how clearly
it was rendered; otherwise they pick a confusion that people make in IEMOCAP (anger heard as
frustration or excitement, excitement as happiness, neutral as sadness or frustration, sadness as
neutral), including categories outside the class set. A rater occasionally ticks two categories,
as IEMOCAP's evaluators could, and each rater leans slightly towards a favourite category.

How many utterances end without a majority under the paper's rule is planned, not left to
chance: the planned share of each class is marked "contested" (the less clearly rendered ones
more likely), and each utterance's votes are drawn until the rule's verdict matches its plan. The
votes themselves stay random draws from the rater model; only the share is pinned, so a small
test corpus and the full corpus both land on it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotation.consensus import consensus_from_votes

RATERS = ("E1", "E2", "E3", "E4")
# A rater's slight favourite, as real annotators have (one hears frustration everywhere).
RATER_LEANINGS = {"E1": None, "E2": "frustration", "E3": "neutral", "E4": "happiness"}
RATER_LEANING_WEIGHT = 0.06

# Where a rater goes when they do not name the rendered emotion (weights, normalised on use).
CONFUSIONS = {
    "anger": {"frustration": 0.45, "excitement": 0.25, "neutral": 0.2, "surprise": 0.1},
    "excitement": {"happiness": 0.45, "anger": 0.2, "surprise": 0.2, "neutral": 0.15},
    "neutral": {"sadness": 0.35, "frustration": 0.3, "happiness": 0.15, "excitement": 0.1, "anger": 0.1},
    "sadness": {"neutral": 0.6, "frustration": 0.3, "fear": 0.1},
}
# A long utterance is half neutral: raters who miss its emotion say "neutral" this much more often.
MIXED_NEUTRAL_BOOST = 3.0

MAX_DRAWS = 1000  # rejection-sampling attempts before the constructed fallback (never reached in practice)


@dataclass(frozen=True)
class VotePlan:
    emotion: str  # the rendered (intended) emotion the votes are drawn around
    clarity: float  # 0..1: how clearly the emotion was rendered
    contested: bool  # planned to end without a majority
    mixed_with_neutral: bool = False  # a long utterance with a neutral stretch


def plan_contested(
    emotions: Sequence[str], clarities: Sequence[float], share: float, rng: np.random.Generator
) -> list[bool]:
    """Mark ``share`` of each emotion's utterances (rounded half up) as contested, choosing the less
    clearly rendered ones more often. Returns one flag per utterance, in input order."""
    if not 0.0 <= share < 1.0:
        raise ValueError(f"no-majority share {share} outside [0, 1)")
    flags = [False] * len(emotions)
    for emotion in sorted(set(emotions)):
        indices = np.array([i for i, e in enumerate(emotions) if e == emotion])
        k = int(share * indices.size + 0.5)
        if k == 0:
            continue
        weights = 1.25 - np.array([clarities[i] for i in indices])  # clarity 1 -> 0.25, 0 -> 1.25
        chosen = rng.choice(indices, size=k, replace=False, p=weights / weights.sum())
        for i in chosen:
            flags[int(i)] = True
    return flags


def _category_probabilities(plan: VotePlan, rater: str, p_named: float) -> tuple[list[str], np.ndarray]:
    confusions = dict(CONFUSIONS[plan.emotion])
    if plan.mixed_with_neutral and "neutral" in confusions:
        confusions["neutral"] *= MIXED_NEUTRAL_BOOST
    elif plan.mixed_with_neutral:
        confusions["neutral"] = MIXED_NEUTRAL_BOOST * 0.2
    total = sum(confusions.values())
    probabilities = {plan.emotion: p_named}
    for category, weight in confusions.items():
        probabilities[category] = probabilities.get(category, 0.0) + (1.0 - p_named) * weight / total
    leaning = RATER_LEANINGS.get(rater)
    if leaning:
        probabilities = {c: (1.0 - RATER_LEANING_WEIGHT) * p for c, p in probabilities.items()}
        probabilities[leaning] = probabilities.get(leaning, 0.0) + RATER_LEANING_WEIGHT
    categories = sorted(probabilities)
    p = np.array([probabilities[c] for c in categories])
    return categories, p / p.sum()


def _draw_votes(
    plan: VotePlan, raters: Sequence[str], p_named: float, p_multi: float, rng: np.random.Generator
) -> list[tuple[str, ...]]:
    votes = []
    for rater in raters:
        categories, p = _category_probabilities(plan, rater, p_named)
        first = int(rng.choice(len(categories), p=p))
        chosen = [categories[first]]
        if rng.random() < p_multi:
            rest = p.copy()
            rest[first] = 0.0
            chosen.append(categories[int(rng.choice(len(categories), p=rest / rest.sum()))])
        votes.append(tuple(sorted(chosen)))
    return votes


def _fallback_votes(plan: VotePlan, raters: Sequence[str]) -> list[tuple[str, ...]]:
    """Votes that certainly match the plan (used only if random draws never did)."""
    first, second = sorted(CONFUSIONS[plan.emotion], key=lambda c: -CONFUSIONS[plan.emotion][c])[:2]
    if not plan.contested:
        return [(plan.emotion,)] * len(raters)
    if len(raters) % 2 == 0:  # a tie: half say the emotion, half the main confusion
        return [(plan.emotion,)] * (len(raters) // 2) + [(first,)] * (len(raters) // 2)
    return [(plan.emotion,), (first,), (second,)][: len(raters)]


def simulate_votes(
    plan: VotePlan, rng: np.random.Generator, *, p_four_raters: float = 0.4, p_multi: float = 0.05
) -> dict[str, tuple[str, ...]]:
    """Votes for one utterance, {rater id: categories}, whose rule verdict matches ``plan.contested``.

    A rater names the rendered emotion with probability 0.5 + 0.4 x clarity when the utterance is
    planned agreed, 0.25 + 0.25 x clarity when contested.
    """
    n_raters = 4 if rng.random() < p_four_raters else 3
    raters = sorted(rng.choice(RATERS, size=n_raters, replace=False).tolist())
    p_named = (0.25 + 0.25 * plan.clarity) if plan.contested else (0.5 + 0.4 * plan.clarity)
    for _ in range(MAX_DRAWS):
        votes = _draw_votes(plan, raters, p_named, p_multi, rng)
        has_majority = consensus_from_votes(votes).label is not None
        if has_majority != plan.contested:
            return dict(zip(raters, votes, strict=True))
    return dict(zip(raters, _fallback_votes(plan, raters), strict=True))
