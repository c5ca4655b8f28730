"""Reads about relabelling campaigns: who may work on what, how far each assessor is, how loaded
each item is. The assignment service and the pages share these, so the page's progress and the
service's choice of the next item never disagree."""

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from annotation.models import Assignment, Campaign, CampaignItem, Judgment
from emolab.roles import is_assessor, is_researcher

Role = CampaignItem.Role


# --- Access ---------------------------------------------------------------------------------------


def campaign_user_can_label(*, campaign: Campaign, user) -> bool:
    """Named assessors only when the campaign names any; otherwise every member of the assessor group."""
    if not user or not user.is_authenticated or not user.is_active:
        return False
    if campaign.assessors.exists():
        return campaign.assessors.filter(pk=user.pk).exists()
    return is_assessor(user)


def campaign_user_can_manage(*, user) -> bool:
    return is_researcher(user)


def campaigns_for_labelling(*, user) -> QuerySet[Campaign]:
    """Campaigns this user may label in (open or closed)."""
    if not user or not user.is_authenticated or not user.is_active:
        return Campaign.objects.none()
    named = Q(assessors=user)
    if is_assessor(user):
        # Open to the whole group: a campaign that names nobody.
        named |= Q(assessors__isnull=True)
    return Campaign.objects.filter(named).distinct().select_related("corpus")


def campaigns_visible_to(*, user) -> QuerySet[Campaign]:
    """Researchers and admins see every campaign; others those they may label in."""
    if is_researcher(user):
        return Campaign.objects.all().select_related("corpus")
    return campaigns_for_labelling(user=user)


def campaign_audio_allowed(*, campaign: Campaign, item: CampaignItem, user) -> bool:
    """Researchers hear everything; an assessor only the items handed to them in a campaign they
    may work on (answered or still reserved)."""
    if campaign_user_can_manage(user=user):
        return True
    return (
        campaign_user_can_label(campaign=campaign, user=user)
        and Assignment.objects.filter(item=item, assessor=user).exists()
    )


# --- Ordering and load ---------------------------------------------------------------------------


def assessor_rank(*, seed: int, assessor_id: int, item_public_id) -> int:
    """This assessor's own position for an item: a seeded hash, so each assessor has a shuffled
    order of the pool that is stable across requests and needs no stored permutation."""
    digest = hashlib.blake2b(f"{seed}:{assessor_id}:{item_public_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def main_item_loads(*, campaign: Campaign, now: datetime, exclude_assessor_id: int | None = None) -> Counter:
    """item id -> judgments recorded + reservations still live (not answered, not expired), for the
    main items; ``exclude_assessor_id``'s own reservations are not counted."""
    loads = Counter(
        dict(Judgment.objects.filter(campaign=campaign, phase=Role.MAIN).values_list("item_id").annotate(n=Count("id")))
    )
    reservations = Assignment.objects.filter(
        campaign=campaign, item__role=Role.MAIN, answered_at__isnull=True, expires_at__gt=now
    )
    if exclude_assessor_id is not None:
        reservations = reservations.exclude(assessor_id=exclude_assessor_id)
    loads.update(dict(reservations.values_list("item_id").annotate(n=Count("id"))))
    return loads


def gold_due(*, campaign: Campaign, main_done: int, n_gold_items: int) -> int:
    """How many gold items an assessor should have seen after ``main_done`` main answers, so that
    gold makes up ``gold_share`` of their scored trials: floor(main_done * share / (1 - share))."""
    if campaign.gold_share <= 0 or n_gold_items == 0:
        return 0
    ratio = campaign.gold_share / (1.0 - campaign.gold_share)
    return min(n_gold_items, math.floor(main_done * ratio + 1e-9))


@dataclass(frozen=True)
class AssessorState:
    """Where one assessor stands in a campaign."""

    warmup_total: int
    warmup_done: int
    main_done: int
    gold_done: int
    main_open: int  # main items this assessor could still be given (quota and target permitting)
    gold_total: int

    @property
    def done(self) -> int:
        return self.warmup_done + self.main_done + self.gold_done

    @property
    def total(self) -> int:
        planned_main = self.main_done + self.main_open
        return self.warmup_total + planned_main + max(self.gold_done, self.gold_total)

    @property
    def finished(self) -> bool:
        return self.done >= self.total


def assessor_state(*, campaign: Campaign, assessor, now: datetime) -> AssessorState:
    items = CampaignItem.objects.filter(campaign=campaign)
    role_counts = Counter(dict(items.values_list("role").annotate(n=Count("id"))))
    judged = Counter(
        dict(Judgment.objects.filter(campaign=campaign, assessor=assessor).values_list("phase").annotate(n=Count("id")))
    )
    main_done = judged[Role.MAIN]
    quota_left = math.inf if campaign.items_per_assessor is None else max(0, campaign.items_per_assessor - main_done)
    main_open = 0
    if quota_left > 0:
        loads = main_item_loads(campaign=campaign, now=now, exclude_assessor_id=assessor.pk)
        judged_ids = set(
            Judgment.objects.filter(campaign=campaign, assessor=assessor, phase=Role.MAIN).values_list(
                "item_id", flat=True
            )
        )
        main_ids = items.filter(role=Role.MAIN).values_list("id", flat=True)
        open_count = sum(
            1 for item_id in main_ids if item_id not in judged_ids and loads[item_id] < campaign.judgments_per_item
        )
        main_open = int(min(quota_left, open_count))
    n_gold = role_counts[Role.GOLD]
    return AssessorState(
        warmup_total=role_counts[Role.WARMUP],
        warmup_done=judged[Role.WARMUP],
        main_done=main_done,
        gold_done=judged[Role.GOLD],
        main_open=main_open,
        gold_total=gold_due(campaign=campaign, main_done=main_done + main_open, n_gold_items=n_gold),
    )


# --- Overview for researchers ---------------------------------------------------------------------


@dataclass(frozen=True)
class AssessorRow:
    username: str
    warmup_done: int
    main_done: int
    main_correct: int
    gold_done: int
    gold_correct: int
    reserved: int

    @property
    def main_accuracy(self) -> float | None:
        return self.main_correct / self.main_done if self.main_done else None

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_done if self.gold_done else None


@dataclass(frozen=True)
class CampaignOverview:
    campaign: Campaign
    n_warmup: int
    n_gold: int
    n_main: int
    # (number of judgments, number of main items with that many), from 0 to the most any item has
    judgments_histogram: list[tuple[int, int]]
    n_main_at_target: int
    n_judgments_main: int
    live_reservations: int
    assessors: list[AssessorRow]


def campaign_overview(*, campaign: Campaign, now: datetime) -> CampaignOverview:
    items = CampaignItem.objects.filter(campaign=campaign)
    role_counts = Counter(dict(items.values_list("role").annotate(n=Count("id"))))
    per_item = Counter(
        dict(Judgment.objects.filter(campaign=campaign, phase=Role.MAIN).values_list("item_id").annotate(n=Count("id")))
    )
    main_ids = list(items.filter(role=Role.MAIN).values_list("id", flat=True))
    histogram_counts = Counter(per_item[item_id] for item_id in main_ids)
    top = max(histogram_counts, default=0)
    histogram = [(k, histogram_counts.get(k, 0)) for k in range(0, max(top, campaign.judgments_per_item) + 1)]

    rows = (
        Judgment.objects.filter(campaign=campaign)
        .values("assessor__username", "phase")
        .annotate(n=Count("id"), n_correct=Count("id", filter=Q(is_correct=True)))
    )
    by_user: dict[str, dict] = {}
    for row in rows:
        entry = by_user.setdefault(row["assessor__username"], Counter())
        entry[row["phase"]] += row["n"]
        entry[row["phase"] + "_correct"] += row["n_correct"]
    live = Assignment.objects.filter(campaign=campaign, answered_at__isnull=True, expires_at__gt=now)
    reserved_by_user = Counter(dict(live.values_list("assessor__username").annotate(n=Count("id"))))
    usernames = sorted(set(by_user) | set(reserved_by_user))
    assessors = [
        AssessorRow(
            username=username,
            warmup_done=by_user.get(username, Counter())[Role.WARMUP],
            main_done=by_user.get(username, Counter())[Role.MAIN],
            main_correct=by_user.get(username, Counter())[Role.MAIN + "_correct"],
            gold_done=by_user.get(username, Counter())[Role.GOLD],
            gold_correct=by_user.get(username, Counter())[Role.GOLD + "_correct"],
            reserved=reserved_by_user[username],
        )
        for username in usernames
    ]
    return CampaignOverview(
        campaign=campaign,
        n_warmup=role_counts[Role.WARMUP],
        n_gold=role_counts[Role.GOLD],
        n_main=role_counts[Role.MAIN],
        judgments_histogram=histogram,
        n_main_at_target=sum(1 for item_id in main_ids if per_item[item_id] >= campaign.judgments_per_item),
        n_judgments_main=sum(per_item[item_id] for item_id in main_ids),
        live_reservations=live.count(),
        assessors=assessors,
    )


@dataclass(frozen=True)
class LabellingRow:
    campaign: Campaign
    state: AssessorState


def labelling_rows(*, user, now: datetime) -> list[LabellingRow]:
    """The campaigns this user labels in, with their own progress: open ones first."""
    campaigns = sorted(campaigns_for_labelling(user=user), key=lambda c: (not c.is_open, -c.created_at.timestamp()))
    return [LabellingRow(campaign=c, state=assessor_state(campaign=c, assessor=user, now=now)) for c in campaigns]
