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

from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from annotation.models import CANT_TELL, Assignment, Campaign, CampaignItem, InstructionsConfirmation, Judgment
from emolab.roles import ASSESSOR_GROUP, is_assessor, is_researcher

Role = CampaignItem.Role


# --- Access ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabellingAccess:
    can_label: bool
    is_open: bool  # read with the access, so a request sees a campaign closed a moment ago
    # Some reservation of the campaign has expired and still counts in its item's load: time to release it.
    reservations_expired: bool = False


_NO_ACCESS = LabellingAccess(can_label=False, is_open=False)

_CONTEXT_SQL = f"""
SELECT c.*,
       EXISTS (SELECT 1 FROM {Campaign.assessors.through._meta.db_table} n WHERE n.campaign_id = c.id)
         AS names_any,
       EXISTS (SELECT 1 FROM {Campaign.assessors.through._meta.db_table} n
               WHERE n.campaign_id = c.id AND n.user_id = %(user)s) AS names_user,
       EXISTS (SELECT 1 FROM {User.groups.through._meta.db_table} ug JOIN {Group._meta.db_table} g
               ON g.id = ug.group_id WHERE ug.user_id = %(user)s AND g.name = %(group)s) AS in_group,
       EXISTS (SELECT 1 FROM {Assignment._meta.db_table} a
               WHERE a.campaign_id = c.id AND a.counted AND a.expires_at <= %(now)s) AS expired
FROM {Campaign._meta.db_table} c WHERE c.id = %(campaign)s
"""


def labelling_context(*, campaign_id: int, user, now: datetime) -> tuple[Campaign | None, LabellingAccess]:
    """The campaign and this user's access to it, read together in one statement (every request of
    an assessor needs both): whether they may label in it (named assessors only when the campaign
    names any; otherwise every member of the assessor group), whether it is open, and whether some
    of its reservations are due for release."""
    if not user or not user.is_authenticated or not user.is_active:
        return Campaign.objects.filter(pk=campaign_id).first(), _NO_ACCESS
    if not 0 < campaign_id < 2**63:  # beyond the id column: no such campaign (the ORM says the same)
        return None, _NO_ACCESS
    params = {
        "user": user.pk,
        "group": ASSESSOR_GROUP,
        "campaign": campaign_id,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    campaign = next(iter(Campaign.objects.raw(_CONTEXT_SQL, params)), None)
    if campaign is None:
        return None, _NO_ACCESS
    access = LabellingAccess(
        can_label=bool(campaign.names_user if campaign.names_any else campaign.in_group),
        is_open=campaign.is_open,
        reservations_expired=bool(campaign.expired),
    )
    return campaign, access


def campaign_labelling_access(*, campaign: Campaign, user, now: datetime | None = None) -> LabellingAccess:
    """``labelling_context``'s access part, for a campaign already at hand."""
    return labelling_context(campaign_id=campaign.pk, user=user, now=now or timezone.now())[1]


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
    gold_total: int  # gold items this assessor will have been given once their main items are done
    gold_items: int = 0  # the campaign's gold items (the length of every assessor's gold schedule)

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


# Where an assessor stands in campaigns: the pool's counts (one pass over its items), and what their
# own judgments and reservations change in it (driven by those few rows, never by the pool).
_STATES_SQL = f"""
SELECT c.id, items.n_warmup, items.n_gold, items.n_main_room, mine.warmup_done, mine.main_done, mine.gold_done,
       barred.main_room, barred.gold, held.full_items
FROM {Campaign._meta.db_table} c
LEFT JOIN (
    SELECT i.campaign_id,
           sum(CASE WHEN i.role = 'warmup' THEN 1 ELSE 0 END) AS n_warmup,
           sum(CASE WHEN i.role = 'gold' THEN 1 ELSE 0 END) AS n_gold,
           sum(CASE WHEN i.role = 'main' AND i.load < t.judgments_per_item THEN 1 ELSE 0 END) AS n_main_room
    FROM {CampaignItem._meta.db_table} i JOIN {Campaign._meta.db_table} t ON t.id = i.campaign_id
    WHERE i.campaign_id IN %(campaigns)s GROUP BY i.campaign_id) items ON items.campaign_id = c.id
LEFT JOIN (
    SELECT j.campaign_id,
           sum(CASE WHEN j.phase = 'warmup' THEN 1 ELSE 0 END) AS warmup_done,
           sum(CASE WHEN j.phase = 'main' THEN 1 ELSE 0 END) AS main_done,
           sum(CASE WHEN j.phase = 'gold' THEN 1 ELSE 0 END) AS gold_done
    FROM {Judgment._meta.db_table} j
    WHERE j.assessor_id = %(assessor)s AND j.campaign_id IN %(campaigns)s GROUP BY j.campaign_id) mine
  ON mine.campaign_id = c.id
LEFT JOIN (
    -- Items ruled out for the assessor: judged by them in the campaign, or (when it says so) their
    -- label shown to them in another one. Warm-up items are never ruled out by the second rule.
    SELECT i.campaign_id,
           count(DISTINCT CASE WHEN i.role = 'main' AND i.load < t.judgments_per_item THEN i.id END) AS main_room,
           count(DISTINCT CASE WHEN i.role = 'gold' THEN i.id END) AS gold
    FROM {Judgment._meta.db_table} j
    JOIN {CampaignItem._meta.db_table} i ON i.utterance_id = j.utterance_id AND i.campaign_id IN %(campaigns)s
    JOIN {Campaign._meta.db_table} t ON t.id = i.campaign_id
    WHERE j.assessor_id = %(assessor)s
      AND (j.campaign_id = i.campaign_id OR (j.label_shown AND t.exclude_seen_elsewhere AND i.role <> 'warmup'))
    GROUP BY i.campaign_id) barred ON barred.campaign_id = c.id
LEFT JOIN (
    -- Their own reservation of an item it fills to the target: still open to them.
    SELECT a.campaign_id, count(*) AS full_items
    FROM {Assignment._meta.db_table} a
    JOIN {CampaignItem._meta.db_table} i ON i.id = a.item_id
    JOIN {Campaign._meta.db_table} t ON t.id = a.campaign_id
    WHERE a.assessor_id = %(assessor)s AND a.counted AND a.campaign_id IN %(campaigns)s
      AND i.load >= t.judgments_per_item
    GROUP BY a.campaign_id) held ON held.campaign_id = c.id
WHERE c.id IN %(campaigns)s
"""


def assessor_states(*, campaigns, assessor) -> dict[int, AssessorState]:
    """Where this assessor stands in each of ``campaigns``: one statement, whatever their number.

    The main items still open to them are counted as (items below their target) - (those among them
    this assessor may not take) + (their own reservation of an item that is full with it).
    """
    campaigns = list(campaigns)
    if not campaigns:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            _STATES_SQL.replace("%(campaigns)s", "(" + ", ".join(str(int(c.pk)) for c in campaigns) + ")"),
            {"assessor": assessor.pk},
        )
        rows = {row[0]: [value or 0 for value in row[1:]] for row in cursor.fetchall()}
    states = {}
    for campaign in campaigns:
        (
            n_warmup,
            n_gold,
            n_main_room,
            warmup_done,
            main_done,
            gold_done,
            main_room_barred,
            gold_barred,
            held_full,
        ) = rows[campaign.pk]
        quota = campaign.items_per_assessor
        open_count = n_main_room - main_room_barred + held_full
        main_open = int(min(math.inf if quota is None else max(0, quota - main_done), open_count))
        gold_planned = gold_due(
            campaign=campaign, assessor_id=assessor.pk, main_done=main_done + main_open, n_gold_items=n_gold
        )
        states[campaign.pk] = AssessorState(
            warmup_total=n_warmup,
            warmup_done=warmup_done,
            main_done=main_done,
            gold_done=gold_done,
            main_open=main_open,
            # gold_barred counts the gold items they judged here too: those are in gold_done.
            gold_total=min(gold_planned, n_gold - (gold_barred - gold_done)),
            gold_items=n_gold,
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
    main_done: int  # every scored answer, "can't tell" included
    main_correct: int
    gold_done: int
    gold_correct: int
    reserved: int
    main_cant_tell: int = 0  # "can't tell" answers: neither right nor wrong
    gold_cant_tell: int = 0
    changed: int = 0  # answers changed by their assessor (undo), any phase

    @property
    def main_labelled(self) -> int:
        return self.main_done - self.main_cant_tell

    @property
    def main_accuracy(self) -> float | None:
        """Agreement with the experts over the answers that name a class."""
        return self.main_correct / self.main_labelled if self.main_labelled else None

    @property
    def gold_labelled(self) -> int:
        return self.gold_done - self.gold_cant_tell

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_correct / self.gold_labelled if self.gold_labelled else None


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
    def n_answers(self) -> int:
        """Every answer: warm-up, scored and gold (the rows of the judgment export)."""
        return sum(a.warmup_done + a.main_done + a.gold_done for a in self.assessors)


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
        .annotate(
            n=Count("id"),
            n_correct=Count("id", filter=Q(is_correct=True)),
            n_cant_tell=Count("id", filter=Q(answer=CANT_TELL)),
            n_changed=Count("id", filter=Q(changed_at__isnull=False)),
        )
    )
    by_user: dict[str, dict] = {}
    for row in rows:
        entry = by_user.setdefault(row["assessor__username"], Counter())
        entry[row["phase"]] += row["n"]
        entry[row["phase"] + "_correct"] += row["n_correct"]
        entry[row["phase"] + "_cant_tell"] += row["n_cant_tell"]
        entry["changed"] += row["n_changed"]
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
            main_cant_tell=by_user.get(username, Counter())[Role.MAIN + "_cant_tell"],
            gold_cant_tell=by_user.get(username, Counter())[Role.GOLD + "_cant_tell"],
            changed=by_user.get(username, Counter())["changed"],
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


def instructions_confirmed(*, campaign: Campaign, user) -> bool:
    """Whether this user confirmed having read the campaign's instructions."""
    return InstructionsConfirmation.objects.filter(campaign=campaign, assessor=user).exists()


@dataclass(frozen=True)
class AssessorProgress:
    """What an assessor is shown of their own work in a campaign (gold answers pass as scored ones:
    they are told nothing about hidden items)."""

    state: AssessorState
    scored: int  # scored answers, "can't tell" included
    cant_tell: int
    changed: int
    agreeing: int | None  # scored answers matching the experts; None when the campaign gives no feedback

    @property
    def answered(self) -> int:
        return self.state.done

    @property
    def remaining(self) -> int:
        return max(0, self.state.total - self.state.done)

    @property
    def labelled(self) -> int:
        return self.scored - self.cant_tell

    @property
    def agreement(self) -> float | None:
        """Share of the labelled scored answers that matched the experts ("can't tell" left out)."""
        if self.agreeing is None or not self.labelled:
            return None
        return self.agreeing / self.labelled


def assessor_progress(*, campaign: Campaign, assessor) -> AssessorProgress:
    """Where the assessor stands and, when the campaign gives feedback (so the expert labels were
    shown to them anyway), how often they agreed with the experts. Two queries."""
    state = assessor_state(campaign=campaign, assessor=assessor)
    counts = (
        Judgment.objects.filter(campaign=campaign, assessor=assessor)
        .exclude(phase=Role.WARMUP)
        .aggregate(
            scored=Count("id"),
            cant_tell=Count("id", filter=Q(answer=CANT_TELL)),
            changed=Count("id", filter=Q(changed_at__isnull=False)),
            agreeing=Count("id", filter=Q(is_correct=True)),
        )
    )
    return AssessorProgress(
        state=state,
        scored=counts["scored"],
        cant_tell=counts["cant_tell"],
        changed=counts["changed"],
        agreeing=counts["agreeing"] if campaign.feedback else None,
    )
