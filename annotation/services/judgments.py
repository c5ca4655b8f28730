"""Handing items to assessors and recording their answers: the one writer of Assignment and
Judgment rows.

Both workflows lock the campaign row first, so any number of assessors working at once are served
one at a time per campaign: the count of judgments plus live reservations of an item never goes
above the campaign's target, and no assessor is given an utterance twice. On PostgreSQL the lock is
``SELECT ... FOR UPDATE``; SQLite ignores that clause, but the settings open every transaction with
``BEGIN IMMEDIATE``, which serialises writers for the whole database.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import CAMPAIGN_DEFAULTS, Assignment, Campaign, CampaignItem, Judgment
from annotation.selectors.campaigns import (
    AssessorState,
    assessor_rank,
    assessor_state,
    campaign_user_can_label,
    gold_due,
    main_item_loads,
)

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


@dataclass(frozen=True)
class NextItem:
    item: CampaignItem | None  # None: this assessor is finished
    state: AssessorState

    @property
    def shown_phase(self) -> str | None:
        """What the assessor is told: gold items pass as main items, or they would not be hidden."""
        if self.item is None:
            return None
        return "warmup" if self.item.role == Role.WARMUP else "main"


@dataclass(frozen=True)
class JudgmentResult:
    judgment: Judgment
    created: bool  # False: the same answer had been recorded before (an idempotent repeat)
    show_feedback: bool  # warm-up always; main and gold items when the campaign gives feedback


def _lock_campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.select_for_update().select_related("corpus").get(pk=campaign_id)


def _check_can_work(campaign: Campaign, assessor) -> None:
    if not campaign_user_can_label(campaign=campaign, user=assessor):
        raise NoAccess("you are not an assessor of this campaign")


def _check_open(campaign: Campaign) -> None:
    if not campaign.is_open:
        raise CampaignClosed(f"campaign {campaign.name!r} is closed: answers are no longer accepted")


def _reserve(campaign: Campaign, item: CampaignItem, assessor, now: datetime) -> Assignment:
    return Assignment.objects.create(
        campaign=campaign,
        item=item,
        assessor=assessor,
        assigned_at=now,
        expires_at=now + timedelta(minutes=CAMPAIGN_DEFAULTS.reservation_minutes),
    )


def _choose_item(campaign: Campaign, assessor, now: datetime) -> CampaignItem | None:
    """The item to hand out next (no reservation held): warm-up in order, then a gold item when
    one is due, then the least-loaded main item, ties broken by the assessor's own order."""
    judged_item_ids = set(
        Judgment.objects.filter(campaign=campaign, assessor=assessor).values_list("item_id", flat=True)
    )
    items = CampaignItem.objects.filter(campaign=campaign)

    for item in items.filter(role=Role.WARMUP).order_by("position", "id"):
        if item.id not in judged_item_ids:
            return item

    def own_order(item: CampaignItem) -> int:
        return assessor_rank(seed=campaign.seed, assessor_id=assessor.pk, item_public_id=item.public_id)

    gold_items = list(items.filter(role=Role.GOLD))
    main_done = Judgment.objects.filter(campaign=campaign, assessor=assessor, phase=Role.MAIN).count()
    gold_done = sum(1 for item in gold_items if item.id in judged_item_ids)
    if gold_done < gold_due(campaign=campaign, main_done=main_done, n_gold_items=len(gold_items)):
        unseen_gold = [item for item in gold_items if item.id not in judged_item_ids]
        if unseen_gold:
            return min(unseen_gold, key=own_order)

    if campaign.items_per_assessor is not None and main_done >= campaign.items_per_assessor:
        return None
    loads = main_item_loads(campaign=campaign, now=now, exclude_assessor_id=assessor.pk)
    candidates = [
        item
        for item in items.filter(role=Role.MAIN).only(
            "id", "public_id", "role", "utterance_id", "campaign_id", "position"
        )
        if item.id not in judged_item_ids and loads[item.id] < campaign.judgments_per_item
    ]
    if not candidates:
        return None
    # Fewest judgments first, so every utterance reaches the target before any gets more.
    return min(candidates, key=lambda item: (loads[item.id], own_order(item)))


def assignment_next(*, campaign: Campaign, assessor, now: datetime | None = None) -> NextItem:
    """Give the assessor their next item, reserved for them, or None when they are finished.

    Asking again before answering returns the same item (a page reload does not skip it).
    Raises NoAccess or CampaignClosed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _lock_campaign(campaign.pk)
        _check_can_work(campaign, assessor)
        _check_open(campaign)
        held = list(
            Assignment.objects.filter(campaign=campaign, assessor=assessor, answered_at__isnull=True)
            .select_related("item__utterance")
            .order_by("assigned_at")
        )
        item = None
        for assignment in held:
            # Warm-up items are everyone's: they never need to be freed for someone else.
            if item is None and (assignment.item.role == Role.WARMUP or assignment.expires_at > now):
                item = assignment.item
            else:
                assignment.delete()  # expired: free it, it may well be chosen again just below
        if item is None:
            item = _choose_item(campaign, assessor, now)
            if item is not None:
                _reserve(campaign, item, assessor, now)
        state = assessor_state(campaign=campaign, assessor=assessor, now=now)
    return NextItem(item=item, state=state)


def _validate_answer(campaign: Campaign, answer: str, response_ms: int, replays: int) -> None:
    if answer not in campaign.classes:
        raise InvalidAnswer(f"unknown label {answer!r}; choose one of: {', '.join(campaign.classes)}")
    if not 0 <= response_ms <= CAMPAIGN_DEFAULTS.max_response_ms:
        raise InvalidAnswer(
            f"response_ms must be between 0 and {CAMPAIGN_DEFAULTS.max_response_ms} (one hour), got {response_ms}"
        )
    if replays < 0:
        raise InvalidAnswer(f"replays cannot be negative, got {replays}")
    if campaign.replay_limit is not None and replays > campaign.replay_limit:
        raise InvalidAnswer(f"this campaign allows {campaign.replay_limit} replay(s); {replays} reported")


def _result(judgment: Judgment, campaign: Campaign, created: bool) -> JudgmentResult:
    show = judgment.phase == Role.WARMUP or campaign.feedback
    return JudgmentResult(judgment=judgment, created=created, show_feedback=show)


def judgment_record(
    *,
    campaign: Campaign,
    assessor,
    item_public_id,
    answer: str,
    response_ms: int,
    replays: int,
    now: datetime | None = None,
) -> JudgmentResult:
    """Record the assessor's answer for an item reserved for them.

    Sending the same answer again returns the stored judgment (created=False); a different answer
    for an utterance already answered raises AnswerConflict. Raises NoAccess, InvalidAnswer,
    ItemNotAssigned or CampaignClosed otherwise; nothing is written then.
    """
    now = now or timezone.now()
    with transaction.atomic():
        campaign = _lock_campaign(campaign.pk)
        _check_can_work(campaign, assessor)
        _validate_answer(campaign, answer, response_ms, replays)
        item = (
            CampaignItem.objects.filter(campaign=campaign, public_id=item_public_id).select_related("utterance").first()
        )
        if item is None:
            raise ItemNotAssigned("this item is not assigned to you")
        earlier = Judgment.objects.filter(campaign=campaign, assessor=assessor, utterance=item.utterance).first()
        if earlier is not None:
            if earlier.item_id == item.id and earlier.answer == answer:
                return _result(earlier, campaign, created=False)
            raise AnswerConflict(f"you already answered this item ({earlier.answer}); an answer cannot be changed")
        _check_open(campaign)
        assignment = Assignment.objects.filter(item=item, assessor=assessor, answered_at__isnull=True).first()
        if assignment is None:
            raise ItemNotAssigned("this item is not assigned to you")
        if item.role == Role.MAIN and assignment.expires_at <= now:
            # A late answer on an expired reservation still counts if nobody took the place meanwhile.
            loads = main_item_loads(campaign=campaign, now=now, exclude_assessor_id=assessor.pk)
            if loads[item.id] >= campaign.judgments_per_item:
                assignment.delete()
                raise ItemNotAssigned(
                    "your reservation of this item expired and it was given to other assessors; ask for the next item"
                )
        expert_label = item.utterance.label
        position = Judgment.objects.filter(campaign=campaign, assessor=assessor).count() + 1
        try:
            with transaction.atomic():
                judgment = Judgment.objects.create(
                    campaign=campaign,
                    item=item,
                    utterance=item.utterance,
                    assessor=assessor,
                    answer=answer,
                    phase=item.role,
                    expert_label=expert_label,
                    is_correct=answer == expert_label,
                    response_ms=response_ms,
                    replays=replays,
                    position=position,
                )
        except IntegrityError:
            # Only reachable if the campaign lock was bypassed; the constraint still holds the line.
            raise AnswerConflict("this item was answered at the same moment by another request") from None
        assignment.answered_at = now
        assignment.save(update_fields=["answered_at"])
    return _result(judgment, campaign, created=True)
