"""What the report analysis reads: plain records that the Django side fills from the database.

Nothing here knows about models or querysets. Utterance ids are whatever the caller uses to join
the three inputs (a primary key, a public UUID as text); they only need to be hashable and equal
across the inputs.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

from ..registry import row_title

UtteranceId = Hashable

# The assessors' row beside the methods' rows (whose names and titles are in ser/registry.py).
HUMAN_ROW = "human"
HUMAN_TITLE = "Human"


def row_label(name: str) -> str:
    """The title of a method's result row or of the human row."""
    return HUMAN_TITLE if name == HUMAN_ROW else row_title(name)


@dataclass(frozen=True)
class UtteranceRecord:
    """One utterance of the corpus with its expert annotation.

    ``expert_votes`` holds one tuple of category names per expert rater (self-evaluations already
    left out); a rater may tick several categories. ``label`` is the consensus label the
    experiments use, or None when the experts reached no consensus.
    """

    id: UtteranceId
    label: str | None
    speaker: str
    session: str
    expert_votes: tuple[tuple[str, ...], ...] = ()

    @property
    def n_raters(self) -> int:
        return len(self.expert_votes)

    @property
    def n_agreeing(self) -> int:
        """Raters whose vote includes the label (0 without a label)."""
        if self.label is None:
            return 0
        return sum(1 for vote in self.expert_votes if self.label in vote)

    @property
    def n_dissenting(self) -> int | None:
        """Raters whose vote does not include the label; None without a label or without votes."""
        if self.label is None or not self.expert_votes:
            return None
        return self.n_raters - self.n_agreeing

    @property
    def dissenting_votes(self) -> tuple[tuple[str, ...], ...]:
        """The votes that do not include the label (empty without a label)."""
        if self.label is None:
            return ()
        return tuple(vote for vote in self.expert_votes if self.label not in vote)


@dataclass(frozen=True)
class Prediction:
    """One out-of-fold prediction of one Table 1 row.

    ``predicted`` is None for an empty CTC decoding: it counts as an error, as in the authors'
    code. ``probabilities`` (optional) follow the class order of the report.
    """

    utterance_id: UtteranceId
    predicted: str | None
    fold: int
    probabilities: tuple[float, ...] | None = None


@dataclass(frozen=True)
class HumanJudgment:
    """One assessor's answer in a relabelling campaign.

    ``answer_index`` is the position of the answer in that assessor's own sequence (any start,
    increasing). Warm-up and hidden gold answers are kept apart from every pooled statistic.
    """

    assessor: str
    utterance_id: UtteranceId
    answer: str
    answer_index: int
    is_warmup: bool = False
    is_gold: bool = False
    response_ms: int | None = None


@dataclass(frozen=True)
class DecodedSpan:
    """A stretch of CTC's decoded emotion sequence, in frames: [start_frame, end_frame)."""

    emotion: str
    start_frame: int
    end_frame: int


MethodPredictions = Mapping[str, Sequence[Prediction]]


def check_classes(classes: Sequence[str]) -> tuple[str, ...]:
    """The class set as a tuple, refused when it cannot order a confusion matrix."""
    classes = tuple(classes)
    if len(classes) < 2:
        raise ValueError(f"a class set needs at least two classes, got {list(classes)}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"the class set names a class twice: {list(classes)}")
    if any(not isinstance(name, str) or not name for name in classes):
        raise ValueError(f"class names must be non-empty text: {list(classes)}")
    return classes


def index_utterances(utterances: Sequence[UtteranceRecord]) -> dict[UtteranceId, UtteranceRecord]:
    """Utterances by id; two utterances with one id would make every join ambiguous."""
    by_id: dict[UtteranceId, UtteranceRecord] = {}
    for utterance in utterances:
        if utterance.id in by_id:
            raise ValueError(f"utterance id {utterance.id!r} appears twice")
        by_id[utterance.id] = utterance
    return by_id


def check_predictions(
    predictions: MethodPredictions,
    utterances_by_id: Mapping[UtteranceId, UtteranceRecord],
    n_classes: int | None = None,
) -> None:
    """Refuse predictions that cannot be joined: unknown utterances, duplicates, a 'human' row,
    class probabilities that do not have one value per class (when ``n_classes`` is given)."""
    for row, row_predictions in predictions.items():
        if row == HUMAN_ROW:
            raise ValueError(f"'{HUMAN_ROW}' is the assessors' row and cannot be a method's name")
        seen: set[UtteranceId] = set()
        for prediction in row_predictions:
            if prediction.utterance_id not in utterances_by_id:
                raise ValueError(f"row {row!r} predicts unknown utterance {prediction.utterance_id!r}")
            if prediction.utterance_id in seen:
                raise ValueError(f"row {row!r} predicts utterance {prediction.utterance_id!r} twice")
            seen.add(prediction.utterance_id)
            probabilities = prediction.probabilities
            if n_classes is not None and probabilities is not None and len(probabilities) != n_classes:
                raise ValueError(
                    f"row {row!r} gives {len(probabilities)} class probabilities for utterance "
                    f"{prediction.utterance_id!r}; the class set has {n_classes} classes"
                )


def check_judgments(
    judgments: Sequence[HumanJudgment], utterances_by_id: Mapping[UtteranceId, UtteranceRecord]
) -> None:
    """Refuse judgments that cannot be joined: unknown utterances, one assessor answering twice."""
    seen: set[tuple[str, UtteranceId]] = set()
    for judgment in judgments:
        if judgment.utterance_id not in utterances_by_id:
            raise ValueError(f"assessor {judgment.assessor!r} judged unknown utterance {judgment.utterance_id!r}")
        key = (judgment.assessor, judgment.utterance_id)
        if key in seen:
            raise ValueError(f"assessor {judgment.assessor!r} judged utterance {judgment.utterance_id!r} twice")
        seen.add(key)
