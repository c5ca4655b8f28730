"""The assignment store for SQLite (the demo default), with the ORM.

SQLite has no row locks: the settings open every transaction with ``BEGIN IMMEDIATE``, which
serialises writers for the whole database, so nothing runs concurrently with these steps and each
can be a plain read then write. The PostgreSQL store (``assignment_pg``) has the same functions.
"""

from collections import Counter
from datetime import datetime, timedelta

from django.db.models import F

from annotation.models import CAMPAIGN_DEFAULTS, Assignment, Campaign, CampaignItem, Judgment
from annotation.selectors.campaigns import in_own_order, items_open_to
from annotation.services.assignment_rows import AnsweredItem, EarlierAnswer, HandedItem, HeldReservation

Role = CampaignItem.Role
_ITEM_FIELDS = ("id", "public_id", "role", "utterance__duration_s")


def _handed(item: CampaignItem | None) -> HandedItem | None:
    if item is None:
        return None
    return HandedItem(id=item.id, public_id=item.public_id, role=item.role, duration_s=item.utterance.duration_s)


def _first(queryset) -> HandedItem | None:
    return _handed(queryset.select_related("utterance").only(*_ITEM_FIELDS).first())


def release_expired(*, campaign: Campaign, now: datetime) -> None:
    """Stop counting the campaign's expired reservations in their items' load. The rows stay: a late
    answer on a released reservation is accepted while the place is still free."""
    expired = list(
        Assignment.objects.filter(campaign=campaign, counted=True, expires_at__lte=now).values_list("id", "item_id")
    )
    if not expired:
        return
    Assignment.objects.filter(id__in=[assignment_id for assignment_id, _ in expired]).update(counted=False)
    for item_id, n in Counter(item_id for _, item_id in expired).items():
        CampaignItem.objects.filter(pk=item_id).update(load=F("load") - n)


def lock_assessor(*, campaign: Campaign, assessor) -> None:
    """Nothing to do: BEGIN IMMEDIATE already serialises every writer."""


def held_item(*, campaign: Campaign, assessor, now: datetime) -> HandedItem | None:
    """The item this assessor holds a reservation for, if it still holds; expired ones are dropped."""
    held = list(
        Assignment.objects.filter(campaign=campaign, assessor=assessor, answered_at__isnull=True)
        .select_related("item__utterance")
        .order_by("assigned_at", "id")
    )
    item = None
    for assignment in held:
        # Warm-up items are everyone's; a counted reservation (expired, not yet released) still holds its place.
        if item is None and (assignment.item.role == Role.WARMUP or assignment.expires_at > now or assignment.counted):
            item = _handed(assignment.item)
        elif not assignment.counted:
            assignment.delete()  # expired and released: it may well be chosen again
    return item


def first_warmup(*, campaign: Campaign, assessor) -> HandedItem | None:
    warmup = items_open_to(campaign=campaign, assessor=assessor, role=Role.WARMUP)
    return _first(warmup.order_by("position", "id"))


def first_gold(*, campaign: Campaign, assessor) -> HandedItem | None:
    gold = items_open_to(campaign=campaign, assessor=assessor, role=Role.GOLD)
    for part in in_own_order(gold, seed=campaign.seed, assessor_id=assessor.pk):
        item = _first(part)
        if item is not None:
            return item
    return None


def _reservation(campaign: Campaign, item_id: int, assessor, now: datetime, counted: bool) -> Assignment:
    return Assignment.objects.create(
        campaign=campaign,
        item_id=item_id,
        assessor=assessor,
        assigned_at=now,
        expires_at=now + timedelta(minutes=CAMPAIGN_DEFAULTS.reservation_minutes),
        counted=counted,
    )


def reserve(*, campaign: Campaign, item: HandedItem, assessor, now: datetime) -> None:
    """Reserve a warm-up or gold item (they have no target, so no load)."""
    _reservation(campaign, item.id, assessor, now, counted=False)


def take_main(*, campaign: Campaign, assessor, now: datetime) -> HandedItem | None:
    """Reserve the least-loaded main item open to this assessor, the first in their own order."""
    open_main = items_open_to(campaign=campaign, assessor=assessor, role=Role.MAIN)
    for level in range(campaign.judgments_per_item):
        for part in in_own_order(open_main.filter(load=level), seed=campaign.seed, assessor_id=assessor.pk):
            item = _first(part)
            if item is not None:
                CampaignItem.objects.filter(pk=item.id).update(load=F("load") + 1)
                _reservation(campaign, item.id, assessor, now, counted=True)
                return item
    return None


def answer_context(
    *, campaign: Campaign, assessor, item_public_id
) -> tuple[AnsweredItem | None, EarlierAnswer | None, HeldReservation | None]:
    """The item answered, the assessor's earlier answer for its utterance, and their open reservation of it."""
    item = (
        CampaignItem.objects.filter(campaign=campaign, public_id=item_public_id)
        .select_related("utterance")
        .only("id", "role", "utterance_id", "utterance__label", "utterance__duration_s")
        .order_by("pk")
        .first()
    )
    if item is None:
        return None, None, None
    answered = AnsweredItem(
        id=item.id,
        role=item.role,
        utterance_id=item.utterance_id,
        expert_label=item.utterance.label,
        duration_s=item.utterance.duration_s,
    )
    judgment = (
        Judgment.objects.filter(campaign=campaign, assessor=assessor, utterance_id=item.utterance_id)
        .order_by("pk")
        .first()
    )
    earlier = None
    if judgment is not None:
        earlier = EarlierAnswer(
            item_id=judgment.item_id,
            answer=judgment.answer,
            is_correct=judgment.is_correct,
            expert_label=judgment.expert_label,
            label_shown=judgment.label_shown,
        )
    assignment = (
        Assignment.objects.filter(item_id=item.id, assessor=assessor, answered_at__isnull=True).order_by("pk").first()
    )
    reservation = None if assignment is None else HeldReservation(id=assignment.id, counted=assignment.counted)
    return answered, earlier, reservation


def take_place(*, item_id: int, target: int) -> bool:
    """Raise a main item's load by one if it is below the target; False if it is full."""
    return CampaignItem.objects.filter(pk=item_id, load__lt=target).update(load=F("load") + 1) == 1


def drop_reservation(*, reservation: HeldReservation) -> None:
    Assignment.objects.filter(pk=reservation.id).delete()


def record(
    *,
    campaign: Campaign,
    assessor,
    item: AnsweredItem,
    reservation: HeldReservation,
    answer: str,
    response_ms: int,
    replays: int,
    label_shown: bool,
    now: datetime,
    played_fraction: float | None = None,
) -> None:
    """Store the judgment (numbered after the assessor's earlier ones) and close the reservation:
    the judgment now counts in the item's load in its place."""
    Judgment.objects.create(
        campaign=campaign,
        item_id=item.id,
        utterance_id=item.utterance_id,
        assessor=assessor,
        answer=answer,
        phase=item.role,
        expert_label=item.expert_label,
        is_correct=answer == item.expert_label,
        first_answer=answer,
        played_fraction=played_fraction,
        response_ms=response_ms,
        replays=replays,
        position=Judgment.objects.filter(campaign=campaign, assessor=assessor).count() + 1,
        label_shown=label_shown,
    )
    Assignment.objects.filter(pk=reservation.id).update(answered_at=now, counted=False)
