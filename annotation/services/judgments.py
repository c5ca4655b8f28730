"""Handing items to assessors and recording their answers: the one writer of Assignment and
Judgment rows, and of the items' stored load.

No campaign-wide lock. The guarantees rest on two small ones:

- **An item's place is taken under that item's row lock.** A main item's ``load`` (judgments +
  counted reservations) only changes by a conditional ``UPDATE`` on its own row. To hand out an
  item, the chooser locks the best candidate with ``SELECT ... FOR UPDATE SKIP LOCKED`` (requests
  choosing at the same moment take different items instead of queueing) and raises its load only
  while it is below the target. So no item ever goes past its target, and a request whose every
  candidate is locked waits for those locks rather than wrongly telling the assessor they are done.
- **One assessor's requests in one campaign run one at a time** (a transaction-scoped advisory lock
  on (campaign, assessor)), so two tabs get the same reservation and an assessor's answers are
  numbered without gaps. Other assessors never wait for it.

Expired reservations are released (``counted`` off, load lowered) by whichever request comes next,
in a short transaction of its own that skips rows others are already releasing.

SQLite has neither row locks nor advisory locks: there the settings open every transaction with
``BEGIN IMMEDIATE``, which serialises writers for the whole database, and the same code is correct
because nothing runs concurrently with it.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from annotation.models import CAMPAIGN_DEFAULTS, Assignment, Campaign, CampaignItem, Judgment
from annotation.selectors.campaigns import (
    AssessorState,
    assessor_state,
    campaign_labelling_access,
    gold_schedule,
    in_own_order,
    items_open_to,
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


def _lock_assessor(campaign: Campaign, assessor) -> None:
    """Serialise this assessor's own requests in this campaign until the transaction ends
    (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises every writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The two-int4 form; ids beyond 2**31 share a lock now and then, which only serialises more.
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s::int4, %s::int4)", [campaign.pk % 2**31, assessor.pk % 2**31]
            )


def _check_can_work(campaign: Campaign, assessor) -> bool:
    """Raise NoAccess unless the assessor may work on the campaign; returns whether it is open."""
    access = campaign_labelling_access(campaign=campaign, user=assessor)
    if not access.can_label:
        raise NoAccess("you are not an assessor of this campaign")
    return access.is_open


def _check_open(campaign: Campaign, is_open: bool) -> None:
    if not is_open:
        raise CampaignClosed(f"campaign {campaign.name!r} is closed: answers are no longer accepted")


def release_expired_reservations(*, campaign: Campaign, now: datetime) -> int:
    """Stop counting the campaign's expired reservations in their items' load; returns how many.

    A short transaction of its own: it locks the expired reservations it releases, skipping those
    another request is releasing (or answering) at the same moment, then lowers the loads in item
    order, so two of these never wait for each other in a cycle. The rows stay: a late answer on a
    released reservation is accepted while the place is still free.
    """
    with transaction.atomic():
        expired = list(
            Assignment.objects.filter(campaign=campaign, counted=True, expires_at__lte=now)
            .order_by("pk")  # not the model's ordering, which would join (and lock) the campaign row
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", "item_id")
        )
        if not expired:
            return 0
        Assignment.objects.filter(id__in=[assignment_id for assignment_id, _ in expired]).update(counted=False)
        for item_id, n in sorted(Counter(item_id for _, item_id in expired).items()):
            CampaignItem.objects.filter(pk=item_id).update(load=F("load") - n)
    return len(expired)


def _take_place(item_id: int, target: int) -> bool:
    """Raise a main item's load by one if it is below the target; False if it is full."""
    return CampaignItem.objects.filter(pk=item_id, load__lt=target).update(load=F("load") + 1) == 1


def _reserve(campaign: Campaign, item: CampaignItem, assessor, now: datetime) -> Assignment:
    return Assignment.objects.create(
        campaign=campaign,
        item=item,
        assessor=assessor,
        assigned_at=now,
        expires_at=now + timedelta(minutes=CAMPAIGN_DEFAULTS.reservation_minutes),
        counted=item.role == Role.MAIN,
    )


_ITEM_FIELDS = ("id", "public_id", "role", "utterance_id", "campaign_id", "position", "load", "shuffle_key")


def _lock_first(queryset) -> CampaignItem | None:
    return queryset.select_for_update(skip_locked=True, no_key=True, of=("self",)).only(*_ITEM_FIELDS).first()


def _choose_main(campaign: Campaign, assessor) -> CampaignItem | None:
    """Take a place in the least-loaded main item open to this assessor, the first in their own order.

    Level by level (load 0 first), each look is one index range scan in the assessor's own order that
    skips the items other requests are reserving right now (SKIP LOCKED), so requests choosing at the
    same moment take different items instead of queueing. A look runs in a savepoint, rolled back
    when it yields nothing usable: PostgreSQL keeps the lock of a row it locked and then found full,
    and a lock kept that way could close a cycle of waits. When every candidate is locked, the
    request waits for one of them (holding no other item) and looks again: answering "finished"
    because others were busy would be wrong.
    """
    target = campaign.judgments_per_item
    open_main = items_open_to(campaign=campaign, assessor=assessor, role=Role.MAIN)
    while True:
        for level in range(target):
            for part in in_own_order(open_main.filter(load=level), seed=campaign.seed, assessor_id=assessor.pk):
                while True:
                    look = transaction.savepoint()
                    item = _lock_first(part)
                    if item is not None and _take_place(item.pk, target):
                        transaction.savepoint_commit(look)
                        return item
                    transaction.savepoint_rollback(look)
                    if item is None:
                        break
                    # Filled between the read and the update (possible only without row locks): again.
        busy = open_main.filter(load__lt=target).order_by("load").values_list("pk", flat=True).first()
        if busy is None:
            return None  # nothing left for this assessor, locked or not
        wait = transaction.savepoint()
        item = (
            CampaignItem.objects.filter(pk=busy, load__lt=target)
            .select_for_update(no_key=True, of=("self",))
            .only(*_ITEM_FIELDS)
            .first()
        )
        if item is not None and _take_place(item.pk, target):
            transaction.savepoint_commit(wait)
            return item
        transaction.savepoint_rollback(wait)


def _choose_item(campaign: Campaign, assessor) -> CampaignItem | None:
    """The item to hand out next (no reservation held): warm-up in order, then a gold item when one
    is due, then the least-loaded main item. Takes the main item's place (its load) when it is one."""
    warmup = items_open_to(campaign=campaign, assessor=assessor, role=Role.WARMUP)
    item = warmup.order_by("position", "id").only(*_ITEM_FIELDS).first()
    if item is not None:
        return item

    done = Counter(
        dict(
            Judgment.objects.filter(campaign=campaign, assessor=assessor)
            .values_list("phase")
            .annotate(n=Count("id"))
            .order_by()
        )
    )
    main_done, gold_done = done[Role.MAIN], done[Role.GOLD]
    if campaign.gold_share > 0:
        n_gold = campaign.items.filter(role=Role.GOLD).count()
        schedule = gold_schedule(
            seed=campaign.seed, assessor_id=assessor.pk, share=campaign.gold_share, n_gold_items=n_gold
        )
        if gold_done < len(schedule) and main_done >= schedule[gold_done]:
            gold = items_open_to(campaign=campaign, assessor=assessor, role=Role.GOLD)
            for part in in_own_order(gold, seed=campaign.seed, assessor_id=assessor.pk):
                item = part.only(*_ITEM_FIELDS).first()
                if item is not None:
                    return item

    if campaign.items_per_assessor is not None and main_done >= campaign.items_per_assessor:
        return None
    return _choose_main(campaign, assessor)


def _held_item(campaign: Campaign, assessor, now: datetime) -> CampaignItem | None:
    """The item this assessor holds a reservation for, if it still holds; expired reservations are dropped."""
    held = list(
        Assignment.objects.filter(campaign=campaign, assessor=assessor, answered_at__isnull=True)
        .select_for_update(of=("self",))
        .select_related("item")
        .order_by("assigned_at")
    )
    item = None
    for assignment in held:
        still_counted = assignment.counted  # expired but not yet released: its place is still taken
        if item is None and (assignment.item.role == Role.WARMUP or assignment.expires_at > now or still_counted):
            item = assignment.item
        elif assignment.counted:
            # A second counted reservation cannot happen (requests of one assessor are serialised);
            # should one exist, keep it and its place rather than guess.
            continue
        else:
            assignment.delete()  # expired and released: it may well be chosen again just below
    return item


def assignment_next(*, campaign: Campaign, assessor, now: datetime | None = None) -> NextItem:
    """Give the assessor their next item, reserved for them, or None when they are finished.

    Asking again before answering returns the same item (a page reload does not skip it).
    Raises NoAccess or CampaignClosed.
    """
    now = now or timezone.now()
    _check_open(campaign, _check_can_work(campaign, assessor))
    release_expired_reservations(campaign=campaign, now=now)
    with transaction.atomic():
        _lock_assessor(campaign, assessor)
        item = _held_item(campaign, assessor, now)
        if item is None:
            item = _choose_item(campaign, assessor)
            if item is not None:
                _reserve(campaign, item, assessor, now)
    state = assessor_state(campaign=campaign, assessor=assessor)
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
    return JudgmentResult(judgment=judgment, created=created, show_feedback=judgment.label_shown)


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
    is_open = _check_can_work(campaign, assessor)
    _validate_answer(campaign, answer, response_ms, replays)
    item = (
        CampaignItem.objects.filter(campaign=campaign, public_id=item_public_id)
        .select_related("utterance")
        .order_by("pk")
        .first()
    )
    if item is None:
        raise ItemNotAssigned("this item is not assigned to you")
    with transaction.atomic():
        _lock_assessor(campaign, assessor)
        earlier = (
            Judgment.objects.filter(campaign=campaign, assessor=assessor, utterance_id=item.utterance_id)
            .order_by("pk")
            .first()
        )
        if earlier is not None:
            if earlier.item_id == item.id and earlier.answer == answer:
                return _result(earlier, campaign, created=False)
            raise AnswerConflict(f"you already answered this item ({earlier.answer}); an answer cannot be changed")
        _check_open(campaign, is_open)
        # Locked: a request releasing expired reservations must not release this one while it is answered.
        assignment = (
            Assignment.objects.filter(item=item, assessor=assessor, answered_at__isnull=True)
            .order_by("pk")
            .select_for_update(of=("self",))
            .first()
        )
        if assignment is None:
            raise ItemNotAssigned("this item is not assigned to you")
        if item.role == Role.MAIN and not assignment.counted:
            # Released after it expired: a late answer still counts if the place is free.
            if not _take_place(item.pk, campaign.judgments_per_item):
                assignment.delete()
                raise ItemNotAssigned(
                    "your reservation of this item expired and it was given to other assessors; ask for the next item"
                )
        expert_label = item.utterance.label
        position = Judgment.objects.filter(campaign=campaign, assessor=assessor).count() + 1
        show_feedback = item.role == Role.WARMUP or campaign.feedback
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
                    label_shown=show_feedback,
                )
        except IntegrityError:
            # Only reachable if the assessor lock was bypassed; the constraint still holds the line.
            raise AnswerConflict("this item was answered at the same moment by another request") from None
        # The judgment now counts in the item's load in place of the reservation.
        assignment.answered_at = now
        assignment.counted = False
        assignment.save(update_fields=["answered_at", "counted"])
    return _result(judgment, campaign, created=True)
