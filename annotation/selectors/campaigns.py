"""Reads about relabelling campaigns: who may work on what, how far each assessor is, how loaded
each item is. The assignment service and the pages share these, so the page's progress and the
service's choice of the next item never disagree."""

import bisect
import functools
import hashlib
import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet

from annotation.models import Assignment, Campaign, CampaignItem, Judgment
from emolab.roles import ASSESSOR_GROUP, is_assessor, is_researcher

Role = CampaignItem.Role


# --- Access ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabellingAccess:
    can_label: bool
    is_open: bool  # read with the access, so a request sees a campaign closed a moment ago


def campaign_labelling_access(*, campaign: Campaign, user) -> LabellingAccess:
    """Whether ``user`` may label in the campaign (named assessors only when the campaign names any;
    otherwise every member of the assessor group), and whether it is open. One query."""
    if not user or not user.is_authenticated or not user.is_active:
        return LabellingAccess(can_label=False, is_open=False)
    named = Campaign.assessors.through.objects.filter(campaign_id=OuterRef("pk"))
    in_group = User.groups.through.objects.filter(user_id=user.pk, group__name=ASSESSOR_GROUP)
    flags = (
        Campaign.objects.filter(pk=campaign.pk)
        .annotate(names_any=Exists(named), names_user=Exists(named.filter(user_id=user.pk)), in_group=Exists(in_group))
        .values_list("names_any", "names_user", "in_group", "is_open")
        .first()
    )
    if flags is None:
        return LabellingAccess(can_label=False, is_open=False)
    names_any, names_user, in_group, is_open = flags
    return LabellingAccess(can_label=names_user if names_any else in_group, is_open=is_open)


def campaign_user_can_label(*, campaign: Campaign, user) -> bool:
    return campaign_labelling_access(campaign=campaign, user=user).can_label


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


# Items' shuffle keys are drawn from [0, KEY_SPACE).
KEY_SPACE = 2**31 - 1


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def item_shuffle_key(*, seed: int, utterance_id: int) -> int:
    """An item's random key, drawn from the campaign's seed: the same seed gives the same keys."""
    return _digest(f"{seed}:item:{utterance_id}") % KEY_SPACE


def assessor_start(*, seed: int, assessor_id: int) -> int:
    """Where this assessor enters the circle of the items' keys, drawn from the campaign's seed."""
    return _digest(f"{seed}:assessor:{assessor_id}") % KEY_SPACE


def assessor_rank(*, seed: int, assessor_id: int, shuffle_key: int) -> int:
    """This assessor's own position for an item: the items' seeded random keys form a circle, and
    each assessor walks it from their own starting point. Each assessor thus has a different order of
    the pool, stable across requests and without a stored permutation, and the database finds the
    next item in it with an index range scan on (load, key) instead of ranking the whole pool."""
    return (shuffle_key - assessor_start(seed=seed, assessor_id=assessor_id)) % KEY_SPACE


def in_own_order(items: QuerySet[CampaignItem], *, seed: int, assessor_id: int):
    """``items`` in this assessor's own order, as two querysets to read one after the other: the keys
    from their starting point up, then the keys below it (each one an index range in key order)."""
    start = assessor_start(seed=seed, assessor_id=assessor_id)
    return (
        items.filter(shuffle_key__gte=start).order_by("shuffle_key", "id"),
        items.filter(shuffle_key__lt=start).order_by("shuffle_key", "id"),
    )


def main_item_loads(*, campaign: Campaign, now: datetime, exclude_assessor_id: int | None = None) -> Counter:
    """item id -> judgments recorded + reservations still live (not answered, not expired), for the
    main items, counted from the rows; ``exclude_assessor_id``'s own reservations are not counted.
    The assignment service reads the stored ``CampaignItem.load`` instead; this is the reference
    the tests and the benchmark check it against."""
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


@functools.lru_cache(maxsize=4096)
def gold_schedule(*, seed: int, assessor_id: int, share: float, n_gold_items: int) -> tuple[int, ...]:
    """For each gold item g of one assessor, how many main answers come before it.

    Gold makes up ``share`` of an assessor's scored trials (main + gold), at positions that differ
    per assessor: the scored trials are cut into windows of 1/share positions and gold item g sits
    at a random position of window g, drawn from the campaign's seed and the assessor (the same
    seed gives the same positions). Gold g is due once that many main answers are in.
    """
    if share <= 0 or n_gold_items <= 0:
        return ()
    rng = random.Random(f"{seed}:gold:{assessor_id}")
    spacing = 1.0 / share
    schedule = []
    for g in range(n_gold_items):
        start, end = math.floor(g * spacing + 1e-9), math.floor((g + 1) * spacing + 1e-9)
        position = start + rng.randrange(max(1, end - start))
        schedule.append(position - g)
    return tuple(schedule)


def gold_due(*, campaign: Campaign, assessor_id: int, main_done: int, n_gold_items: int) -> int:
    """How many gold items this assessor should have been given after ``main_done`` main answers."""
    schedule = gold_schedule(
        seed=campaign.seed, assessor_id=assessor_id, share=campaign.gold_share, n_gold_items=n_gold_items
    )
    return bisect.bisect_right(schedule, main_done)


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
    def in_warmup(self) -> bool:
        return self.warmup_done < self.warmup_total

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


def _barring_judgments(assessor, *, seen_elsewhere_bars):
    """This assessor's judgments that rule the outer item out for them: one of its utterance in the
    same campaign, or, when ``seen_elsewhere_bars`` (a boolean or a condition on the outer row),
    one in another campaign that showed them the expert label."""
    judgments = Judgment.objects.filter(assessor=assessor, utterance_id=OuterRef("utterance_id"))
    if seen_elsewhere_bars is False:
        return judgments.filter(campaign_id=OuterRef("campaign_id"))
    shown = Q(label_shown=True) if seen_elsewhere_bars is True else Q(label_shown=True) & seen_elsewhere_bars
    return judgments.filter(Q(campaign_id=OuterRef("campaign_id")) | shown)


def items_open_to(*, campaign: Campaign, assessor, role: str) -> QuerySet[CampaignItem]:
    """The campaign's items of ``role`` this assessor may still be given, load aside: not judged by
    them in this campaign and, unless the campaign allows it, whose label they were not shown in
    another one. Warm-up items are exempt from the second rule: they always come with their label
    and count in no statistic."""
    bars = campaign.exclude_seen_elsewhere and role != Role.WARMUP
    barring = _barring_judgments(assessor, seen_elsewhere_bars=bars)
    return CampaignItem.objects.filter(campaign=campaign, role=role).filter(~Exists(barring))


def assessor_states(*, campaigns, assessor) -> dict[int, AssessorState]:
    """Where this assessor stands in each of ``campaigns``, in three queries whatever their number.

    The open main items are counted as (items below their target) - (those this assessor may not
    take) + (their own reservation of an item that is full with it); the second and third terms come
    from the few items their own judgments and reservations point at, not from a scan of the pool.
    """
    campaigns = list(campaigns)
    if not campaigns:
        return {}
    ids = [campaign.pk for campaign in campaigns]
    has_room = Q(load__lt=F("campaign__judgments_per_item"))
    totals = {
        row["campaign_id"]: row
        for row in CampaignItem.objects.filter(campaign_id__in=ids)
        .values("campaign_id")
        .annotate(
            n_warmup=Count("id", filter=Q(role=Role.WARMUP)),
            n_gold=Count("id", filter=Q(role=Role.GOLD)),
            n_main_room=Count("id", filter=Q(role=Role.MAIN) & has_room),
        )
        .order_by()
    }
    judged_here = Judgment.objects.filter(
        assessor=assessor, utterance_id=OuterRef("utterance_id"), campaign_id=OuterRef("campaign_id")
    )
    seen_elsewhere = Judgment.objects.filter(
        assessor=assessor, utterance_id=OuterRef("utterance_id"), label_shown=True
    ).exclude(campaign_id=OuterRef("campaign_id"))
    held = Assignment.objects.filter(item_id=OuterRef("pk"), assessor=assessor, counted=True)
    touched = (
        CampaignItem.objects.filter(campaign_id__in=ids)
        .filter(
            Q(utterance_id__in=Judgment.objects.filter(assessor=assessor).values("utterance_id"))
            | Q(id__in=Assignment.objects.filter(assessor=assessor, counted=True).values("item_id"))
        )
        .annotate(
            is_judged=Exists(judged_here),
            is_seen=Exists(seen_elsewhere),
            is_held=Exists(held),
            room=ExpressionWrapper(has_room, output_field=BooleanField()),
        )
        .values_list(
            "campaign_id", "role", "is_judged", "is_seen", "is_held", "room", "campaign__exclude_seen_elsewhere"
        )
        .order_by()
    )
    adjust: dict[int, Counter] = {campaign_id: Counter() for campaign_id in ids}
    for campaign_id, role, is_judged, is_seen, is_held, room, seen_bars in touched:
        barred = is_judged or (seen_bars and is_seen and role != Role.WARMUP)
        if role == Role.MAIN:
            if barred and room:
                adjust[campaign_id]["main_room_barred"] += 1
            elif is_held and not barred and not room:
                adjust[campaign_id]["main_held_full"] += 1
        elif role == Role.GOLD and barred and not is_judged:
            adjust[campaign_id]["gold_barred"] += 1
    judged: dict[int, Counter] = {campaign_id: Counter() for campaign_id in ids}
    for campaign_id, phase, n in (
        Judgment.objects.filter(assessor=assessor, campaign_id__in=ids)
        .values_list("campaign_id", "phase")
        .annotate(n=Count("id"))
        .order_by()
    ):
        judged[campaign_id][phase] = n

    states = {}
    for campaign in campaigns:
        row = totals.get(campaign.pk, {"n_warmup": 0, "n_gold": 0, "n_main_room": 0})
        mine, extra = judged[campaign.pk], adjust[campaign.pk]
        main_done = mine[Role.MAIN]
        open_count = row["n_main_room"] - extra["main_room_barred"] + extra["main_held_full"]
        quota = campaign.items_per_assessor
        main_open = int(min(math.inf if quota is None else max(0, quota - main_done), open_count))
        gold_planned = gold_due(
            campaign=campaign, assessor_id=assessor.pk, main_done=main_done + main_open, n_gold_items=row["n_gold"]
        )
        states[campaign.pk] = AssessorState(
            warmup_total=row["n_warmup"],
            warmup_done=mine[Role.WARMUP],
            main_done=main_done,
            gold_done=mine[Role.GOLD],
            main_open=main_open,
            gold_total=min(gold_planned, row["n_gold"] - extra["gold_barred"]),
        )
    return states


def assessor_state(*, campaign: Campaign, assessor, now: datetime | None = None) -> AssessorState:
    """Where one assessor stands in one campaign (``now`` is accepted for callers that pass it: the
    stored loads already leave expired reservations out once they are released)."""
    return assessor_states(campaigns=[campaign], assessor=assessor)[campaign.pk]


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

    @property
    def share_at_target(self) -> float:
        return self.n_main_at_target / self.n_main if self.n_main else 0.0


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
    """The campaigns this user labels in, with their own progress: open ones first. A fixed
    number of queries, however many campaigns there are."""
    campaigns = sorted(campaigns_for_labelling(user=user), key=lambda c: (not c.is_open, -c.created_at.timestamp()))
    states = assessor_states(campaigns=campaigns, assessor=user)
    return [LabellingRow(campaign=c, state=states[c.pk]) for c in campaigns]
