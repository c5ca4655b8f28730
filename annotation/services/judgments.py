"""Handing items to assessors and recording their answers: the one writer of Assignment and
Judgment rows, and of the items' stored load (main judgments + counted reservations).

There is no campaign-wide lock. The rules (warm-up first, gold when due, then the least-loaded
main item in the assessor's own order; never past the target; never an utterance twice; expiring
reservations) are decided here; the reads and writes go through a store:

- ``assignment_pg`` on PostgreSQL: an item's place is taken under that item's row lock (one
  statement: SKIP LOCKED pick, conditional load increment, reservation), and one assessor's
  requests in one campaign are serialised by an advisory lock. Other assessors never wait for one
  another, except for the instant two of them want the very same item's row.
- ``assignment_orm`` on SQLite, the demo default: the settings open every transaction with
  ``BEGIN IMMEDIATE``, which serialises writers for the whole database, so plain ORM reads and
  writes are correct there.
"""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from annotation.models import CAMPAIGN_DEFAULTS, CANT_TELL, Assignment, Campaign, CampaignItem, Judgment
from annotation.selectors.campaigns import (
    AssessorState,
    LabellingAccess,
    assessor_state,
    campaign_labelling_access,
    gold_schedule,
)
from annotation.services import assignment_orm, assignment_pg
from annotation.services.assignment_rows import HandedItem, ItemsBusy

Role = CampaignItem.Role


class JudgmentError(Exception):
    """An assessor's request that cannot be honoured; nothing was written."""


class NoAccess(JudgmentError):
    """The user may not work on this campaign."""


class CampaignClosed(JudgmentError):
    """The campaign is closed: no new items, no new answers."""


class ItemNotAssigned(JudgmentError):
    """The item is not (or no longer) reserved for this assessor."""


class AnswerConflict(JudgmentError):
    """The assessor already answered this utterance differently."""


class InvalidAnswer(JudgmentError):
    """The answer itself is malformed (unknown class, impossible time, too many replays)."""


class ChangeTooLate(JudgmentError):
    """The answer can no longer be changed: the assessor has moved on to the next item."""


class ListenedTooLittle(JudgmentError):
    """The answer came before the campaign's listening rule allows (too little of the clip heard)."""


@dataclass(frozen=True)
class NextItem:
    item: HandedItem | None  # None: this assessor is finished
    state: AssessorState

    @property
    def shown_phase(self) -> str | None:
        """What the assessor is told: gold items pass as main items, or they would not be hidden."""
        if self.item is None:
            return None
        return "warmup" if self.item.role == Role.WARMUP else "main"


@dataclass(frozen=True)
class JudgmentResult:
    item_public_id: UUID
    answer: str
    is_correct: bool
    expert_label: str
    created: bool  # False: the same answer had been recorded before (an idempotent repeat)
    show_feedback: bool  # warm-up always; main and gold items when the campaign gives feedback


def _store():
    """Hand-written SQL with row locks on PostgreSQL; the ORM on SQLite, where writers are serialised."""
    return assignment_pg if connection.vendor == "postgresql" else assignment_orm


def _checked_access(campaign: Campaign, assessor, access: LabellingAccess | None, now: datetime) -> LabellingAccess:
    """Raise NoAccess unless the assessor may work on the campaign. ``access`` is what the caller
    already read with the campaign (the views do, in the same statement); else it is read here."""
    access = access or campaign_labelling_access(campaign=campaign, user=assessor, now=now)
    if not access.can_label:
        raise NoAccess("you are not an assessor of this campaign")
    return access


def _check_open(campaign: Campaign, access: LabellingAccess) -> None:
    if not access.is_open:
        raise CampaignClosed(f"campaign {campaign.name!r} is closed: answers are no longer accepted")


def _choose_and_reserve(store, campaign: Campaign, assessor, state: AssessorState, now: datetime) -> HandedItem | None:
    """Warm-up in order, then a gold item when one is due, then the least-loaded main item."""
    item = None
    if state.in_warmup:
        item = store.first_warmup(campaign=campaign, assessor=assessor)
    if item is None:
        schedule = gold_schedule(
            seed=campaign.seed, assessor_id=assessor.pk, share=campaign.gold_share, n_gold_items=state.gold_items
        )
        if state.gold_done < len(schedule) and state.main_done >= schedule[state.gold_done]:
            item = store.first_gold(campaign=campaign, assessor=assessor)
        if item is None:
            if campaign.items_per_assessor is not None and state.main_done >= campaign.items_per_assessor:
                return None
            return store.take_main(campaign=campaign, assessor=assessor, now=now)
    store.reserve(campaign=campaign, item=item, assessor=assessor, now=now)
    return item


def assignment_next(
    *, campaign: Campaign, assessor, now: datetime | None = None, access: LabellingAccess | None = None
) -> NextItem:
    """Give the assessor their next item, reserved for them, or None when they are finished.

    Asking again before answering returns the same item (a page reload does not skip it).
    Raises NoAccess or CampaignClosed.
    """
    now = now or timezone.now()
    access = _checked_access(campaign, assessor, access, now)
    _check_open(campaign, access)
    store = _store()
    if access.reservations_expired:
        with transaction.atomic():
            store.release_expired(campaign=campaign, now=now)
    while True:
        try:
            with transaction.atomic():
                store.lock_assessor(campaign=campaign, assessor=assessor)
                item = store.held_item(campaign=campaign, assessor=assessor, now=now)
                # Progress as it stands, read under this assessor's lock: the reservation made below
                # changes neither what they have done nor what is open to them.
                state = assessor_state(campaign=campaign, assessor=assessor)
                if item is None:
                    item = _choose_and_reserve(store, campaign, assessor, state, now)
            return NextItem(item=item, state=state)
        except ItemsBusy as busy:
            store.wait_for_item(item_id=busy.item_id)  # holding nothing now, so no cycle of waits


def answer_choices(campaign: Campaign) -> list[str]:
    """What an assessor may answer: the classes, then "can't tell" where the campaign offers it."""
    return [*campaign.classes, CANT_TELL] if campaign.allow_cant_tell else list(campaign.classes)


def _validate_answer(
    campaign: Campaign, answer: str, response_ms: int, replays: int, played_fraction: float | None = None
) -> None:
    if answer not in answer_choices(campaign):
        raise InvalidAnswer(f"unknown label {answer!r}; choose one of: {', '.join(answer_choices(campaign))}")
    if played_fraction is not None and not 0.0 <= played_fraction <= 1.0:
        raise InvalidAnswer(f"played_fraction must be between 0 and 1, got {played_fraction}")
    if not 0 <= response_ms <= CAMPAIGN_DEFAULTS.max_response_ms:
        raise InvalidAnswer(
            f"response_ms must be between 0 and {CAMPAIGN_DEFAULTS.max_response_ms} (one hour), got {response_ms}"
        )
    if replays < 0:
        raise InvalidAnswer(f"replays cannot be negative, got {replays}")
    if campaign.replay_limit is not None and replays > campaign.replay_limit:
        raise InvalidAnswer(f"this campaign allows {campaign.replay_limit} replay(s); {replays} reported")


def check_listening(*, campaign: Campaign, duration_s: float, response_ms: int, played_fraction: float | None) -> None:
    """The campaign's minimum listening rule, checked against the clip's duration: the share of the
    clip played (when the client reports it) and the time from the first play to the answer (a clip
    of d seconds cannot have been heard in full sooner than d seconds after it started).
    Raises ListenedTooLittle."""
    rule = campaign.min_listen_fraction
    if rule <= 0:
        return
    percent = f"{round(100 * rule)}%"
    if played_fraction is not None and played_fraction < rule - CAMPAIGN_DEFAULTS.played_fraction_tolerance:
        raise ListenedTooLittle(
            f"you have heard {round(100 * played_fraction)}% of the clip; this campaign asks you to listen to "
            f"{'all' if rule >= 1 else percent} of it before answering"
        )
    needed_s = rule * duration_s
    slack_s = min(CAMPAIGN_DEFAULTS.listen_slack_s, CAMPAIGN_DEFAULTS.listen_slack_share * duration_s)
    if response_ms / 1000 < needed_s - slack_s:
        raise ListenedTooLittle(
            f"answered {response_ms / 1000:.2f} s after the clip started; listening to "
            f"{'all' if rule >= 1 else percent} of this {duration_s:.2f} s clip takes {needed_s:.2f} s"
        )


def judgment_record(
    *,
    campaign: Campaign,
    assessor,
    item_public_id,
    answer: str,
    response_ms: int,
    replays: int,
    played_fraction: float | None = None,
    now: datetime | None = None,
    access: LabellingAccess | None = None,
) -> JudgmentResult:
    """Record the assessor's answer for an item reserved for them.

    Sending the same answer again returns the stored judgment (created=False); a different answer
    for an utterance already answered raises AnswerConflict. Raises NoAccess, InvalidAnswer,
    ListenedTooLittle, ItemNotAssigned or CampaignClosed otherwise; nothing is written then.
    "can't tell" (CANT_TELL, where the campaign allows it) is stored as the answer, never correct;
    the statistics count it apart from the labels.
    """
    now = now or timezone.now()
    access = _checked_access(campaign, assessor, access, now)
    _validate_answer(campaign, answer, response_ms, replays, played_fraction)
    store = _store()
    try:
        with transaction.atomic():
            store.lock_assessor(campaign=campaign, assessor=assessor)
            item, earlier, reservation = store.answer_context(
                campaign=campaign, assessor=assessor, item_public_id=item_public_id
            )
            if item is None:
                raise ItemNotAssigned("this item is not assigned to you")
            if earlier is not None:
                if earlier.item_id == item.id and earlier.answer == answer:
                    return JudgmentResult(
                        item_public_id=item_public_id,
                        answer=earlier.answer,
                        is_correct=earlier.is_correct,
                        expert_label=earlier.expert_label,
                        created=False,
                        show_feedback=earlier.label_shown,
                    )
                raise AnswerConflict(
                    f"you already answered this item ({earlier.answer}); to change it, use the change "
                    "request before going on to the next item"
                )
            _check_open(campaign, access)
            if reservation is None:
                raise ItemNotAssigned("this item is not assigned to you")
            check_listening(
                campaign=campaign, duration_s=item.duration_s, response_ms=response_ms, played_fraction=played_fraction
            )
            if item.role == Role.MAIN and not reservation.counted:
                # Released after it expired: a late answer still counts if the place is free.
                if not store.take_place(item_id=item.id, target=campaign.judgments_per_item):
                    store.drop_reservation(reservation=reservation)
                    raise ItemNotAssigned(
                        "your reservation of this item expired and it was given to other assessors; "
                        "ask for the next item"
                    )
            label_shown = item.role == Role.WARMUP or campaign.feedback
            store.record(
                campaign=campaign,
                assessor=assessor,
                item=item,
                reservation=reservation,
                answer=answer,
                response_ms=response_ms,
                replays=replays,
                label_shown=label_shown,
                now=now,
                played_fraction=played_fraction,
            )
    except IntegrityError:
        # Only reachable if the assessor lock was bypassed; the constraint still holds the line.
        raise AnswerConflict("this item was answered at the same moment by another request") from None
    return JudgmentResult(
        item_public_id=item_public_id,
        answer=answer,
        is_correct=answer == item.expert_label,
        expert_label=item.expert_label,
        created=True,
        show_feedback=label_shown,
    )


def judgment_change(
    *,
    campaign: Campaign,
    assessor,
    item_public_id,
    answer: str,
    now: datetime | None = None,
    access: LabellingAccess | None = None,
) -> JudgmentResult:
    """Change the assessor's last answer (undo a slip of the key).

    The rule: an answer can be changed until the next item is handed to the assessor (GET .../next/,
    which the page calls when the assessor goes on, just before the next item's audio can start).
    The server sees that moment itself, so it needs no word from the browser, and an answer can
    never be changed after another item was heard. The judgment keeps the final answer; the first
    answer and the time of the (last) change are stored; the response time stays the time to the
    first answer. Raises NoAccess, CampaignClosed, InvalidAnswer, ItemNotAssigned (never answered)
    or ChangeTooLate; nothing is written then.
    """
    now = now or timezone.now()
    access = _checked_access(campaign, assessor, access, now)
    _check_open(campaign, access)
    if answer not in answer_choices(campaign):
        raise InvalidAnswer(f"unknown label {answer!r}; choose one of: {', '.join(answer_choices(campaign))}")
    with transaction.atomic():
        _store().lock_assessor(campaign=campaign, assessor=assessor)
        judgment = (
            Judgment.objects.select_for_update()
            .filter(campaign=campaign, assessor=assessor, item__public_id=item_public_id)
            .first()
        )
        if judgment is None:
            raise ItemNotAssigned("you have not answered this item, so there is nothing to change")
        answered_at = (
            Assignment.objects.filter(item_id=judgment.item_id, assessor=assessor)
            .values_list("answered_at", flat=True)
            .first()
        ) or judgment.created_at
        moved_on = (
            Assignment.objects.filter(campaign=campaign, assessor=assessor, assigned_at__gte=answered_at)
            .exclude(item_id=judgment.item_id)
            .exists()
        )
        if (
            moved_on
            or Judgment.objects.filter(campaign=campaign, assessor=assessor, position__gt=judgment.position).exists()
        ):
            raise ChangeTooLate(
                "too late to change this answer: the next item was already handed to you "
                "(an answer can be changed only before going on)"
            )
        if answer != judgment.answer:
            judgment.first_answer = judgment.first_answer or judgment.answer
            judgment.answer = answer
            judgment.is_correct = answer == judgment.expert_label
            judgment.changed_at = now
            judgment.save(update_fields=["first_answer", "answer", "is_correct", "changed_at"])
    return JudgmentResult(
        item_public_id=judgment.item.public_id,
        answer=judgment.answer,
        is_correct=judgment.is_correct,
        expert_label=judgment.expert_label,
        created=False,
        show_feedback=judgment.label_shown,
    )
