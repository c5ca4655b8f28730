"""What the assignment stores (``assignment_orm``, ``assignment_pg``) hand back to the workflow in
``judgments.py``: plain rows, so the PostgreSQL store can build them straight from its SQL."""

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True)
class HandedItem:
    """An item as handed to an assessor: what the API shows of it, and its role (kept server-side)."""

    id: int
    public_id: UUID
    role: str
    duration_s: float


@dataclass(frozen=True)
class AnsweredItem:
    """The item an answer is about, with the utterance's expert label (read only after the answer)."""

    id: int
    role: str
    utterance_id: int
    expert_label: str
    duration_s: float = 0.0


@dataclass(frozen=True)
class EarlierAnswer:
    """The assessor's stored answer for the same utterance of the campaign."""

    item_id: int
    answer: str
    is_correct: bool
    expert_label: str
    label_shown: bool


@dataclass(frozen=True)
class HeldReservation:
    id: int
    counted: bool


class ItemsBusy(Exception):  # noqa: N818 - a signal to wait, not an error
    """Every item this assessor could take is held by another request right now (PostgreSQL)."""

    def __init__(self, item_id: int):
        super().__init__(item_id)
        self.item_id = item_id
