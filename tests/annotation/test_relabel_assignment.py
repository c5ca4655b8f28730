"""Who gets which item next: warm-up first, then the least-judged utterance in the assessor's own
order, never the same utterance twice, never more judgments than the target; reservations expire;
hidden gold items come at the campaign's share."""

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from annotation.models import Assignment, CampaignItem, Judgment
from annotation.selectors.campaigns import assessor_rank, assessor_state, gold_schedule
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import ItemNotAssigned, assignment_next, judgment_record
from tests.factories import make_corpus, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.1)  # 16 utterances, all unanimous


def _campaign(corpus, **kwargs):
    return campaign_create(corpus=corpus, name=kwargs.pop("name", "c"), created_by=None, **kwargs)


def _take_and_answer(campaign, assessor, now=None):
    """Ask for the next item and answer it; returns the item or None when finished."""
    result = assignment_next(campaign=campaign, assessor=assessor, now=now)
    if result.item is None:
        return None
    judgment_record(
        campaign=campaign,
        assessor=assessor,
        item_public_id=result.item.public_id,
        answer="anger",
        response_ms=500,
        replays=0,
        now=now,
    )
    return result.item


def _main_counts(campaign) -> Counter:
    counts = Counter({item_id: 0 for item_id in campaign.items.filter(role="main").values_list("id", flat=True)})
    counts.update(Judgment.objects.filter(campaign=campaign, phase="main").values_list("item_id", flat=True))
    return counts


def test_every_utterance_reaches_the_target_and_none_goes_beyond(corpus):
    """Three assessors in turn, target 2: the first 16 judgments cover the 16 scored utterances
    once each (everyone reaches 1 before any gets 2), in the end every one has exactly 2, nobody
    judged an utterance twice, and all three are finished."""
    campaign = _campaign(corpus, warmup_per_class=0, judgments_per_item=2)
    assessors = [make_user("assessor") for _ in range(3)]
    order = []
    active = list(assessors)
    while active:
        for assessor in list(active):
            item = _take_and_answer(campaign, assessor)
            if item is None:
                active.remove(assessor)
            else:
                order.append(item.id)
                counts = _main_counts(campaign)
                assert max(counts.values()) <= 2
    assert len(order) == 32
    assert len(set(order[:16])) == 16
    assert set(_main_counts(campaign).values()) == {2}
    for assessor in assessors:
        mine = list(
            Judgment.objects.filter(campaign=campaign, assessor=assessor).values_list("utterance_id", flat=True)
        )
        assert len(mine) == len(set(mine))
        state = assessor_state(campaign=campaign, assessor=assessor, now=timezone.now())
        assert state.finished and state.done == state.total == len(mine)


def test_each_hand_out_is_a_least_judged_utterance_the_assessor_may_take(corpus):
    """Four assessors in turn, target 3. Before every hand-out, count each utterance's judgments
    by hand: the one handed out has no more than any other this assessor has not judged yet (an
    assessor who already judged every least-judged one must move up a level: nobody hears an
    utterance twice). In the end every utterance has exactly 3 judgments."""
    campaign = _campaign(corpus, warmup_per_class=0, judgments_per_item=3)
    assessors = [make_user("assessor") for _ in range(4)]
    handed = []
    active = list(assessors)
    while active:
        for assessor in list(active):
            counts = _main_counts(campaign)
            judged_by_me = set(Judgment.objects.filter(assessor=assessor).values_list("item_id", flat=True))
            open_to_me = [n for item_id, n in counts.items() if item_id not in judged_by_me and n < 3]
            item = _take_and_answer(campaign, assessor)
            if item is None:
                assert open_to_me == []
                active.remove(assessor)
                continue
            handed.append(item.id)
            assert counts[item.id] == min(open_to_me)
    assert len(set(handed[:16])) == 16  # everyone reaches 1 before any gets 2
    assert len(handed) == 48 and set(_main_counts(campaign).values()) == {3}


def test_each_assessor_has_an_order_of_their_own(corpus):
    campaign = _campaign(corpus, warmup_per_class=0)
    keys = dict(campaign.items.values_list("public_id", "shuffle_key"))
    assert len(set(keys.values())) == len(keys)  # seeded random keys, all different

    def order(assessor_id):
        return sorted(
            keys, key=lambda pid: assessor_rank(seed=campaign.seed, assessor_id=assessor_id, shuffle_key=keys[pid])
        )

    assert order(1) == order(1)
    # Each order is the circle of keys entered at the assessor's own point: 40 assessors spread over
    # the 16 gaps between keys (all 40 within 3 gaps would be a vanishingly rare draw).
    assert len({tuple(order(assessor_id)) for assessor_id in range(1, 41)}) > 3
    # Alone in a campaign, an assessor walks the pool in exactly that order: the database computes
    # the same permutation as Python.
    alice = make_user("assessor")
    walked = []
    while (item := _take_and_answer(campaign, alice)) is not None:
        walked.append(item.public_id)
    assert walked == order(alice.pk)


def test_warmup_comes_first_in_the_same_order_for_everyone(corpus):
    campaign = _campaign(corpus)
    warmup = list(campaign.items.filter(role="warmup").order_by("position").values_list("id", flat=True))
    assert len(warmup) == 4
    for assessor in (make_user("assessor"), make_user("assessor")):
        got = [_take_and_answer(campaign, assessor).id for _ in range(4)]
        assert got == warmup
        assert _take_and_answer(campaign, assessor).role == "main"
    # Warm-up answers are kept apart from the statistics.
    assert Judgment.objects.filter(campaign=campaign, phase="warmup").count() == 8
    assert Judgment.objects.scored().filter(campaign=campaign).count() == 2


def test_a_reservation_holds_until_it_expires(corpus):
    campaign = _campaign(corpus, warmup_per_class=0, judgments_per_item=1)
    alice, bob = make_user("assessor"), make_user("assessor")
    now = timezone.now()
    # Bob takes 15 of the 16 items, answering them; alice reserves the last one.
    for _ in range(15):
        _take_and_answer(campaign, bob, now=now)
    reserved = assignment_next(campaign=campaign, assessor=alice, now=now).item
    assert assignment_next(campaign=campaign, assessor=bob, now=now).item is None  # held for alice
    assert assessor_state(campaign=campaign, assessor=bob, now=now).finished
    later = now + timedelta(minutes=31)
    taken_over = assignment_next(campaign=campaign, assessor=bob, now=later).item
    assert taken_over.id == reserved.id  # alice's reservation expired
    # Alice answers late: the place is gone, her answer is refused and nothing is stored.
    with pytest.raises(ItemNotAssigned, match="expired"):
        judgment_record(
            campaign=campaign,
            assessor=alice,
            item_public_id=reserved.public_id,
            answer="anger",
            response_ms=1500,
            replays=0,
            now=later,
        )
    judgment_record(
        campaign=campaign,
        assessor=bob,
        item_public_id=reserved.public_id,
        answer="anger",
        response_ms=1500,
        replays=0,
        now=later,
    )
    assert set(_main_counts(campaign).values()) == {1}


def test_a_late_answer_counts_when_nobody_took_the_place(corpus):
    campaign = _campaign(corpus, warmup_per_class=0, judgments_per_item=1)
    alice = make_user("assessor")
    now = timezone.now()
    item = assignment_next(campaign=campaign, assessor=alice, now=now).item
    result = judgment_record(
        campaign=campaign,
        assessor=alice,
        item_public_id=item.public_id,
        answer="neutral",
        response_ms=1500,
        replays=0,
        now=now + timedelta(hours=2),
    )
    assert result.created and Judgment.objects.get(assessor=alice).item_id == item.id
    assert CampaignItem.objects.get(pk=item.id).load == 1


def test_a_late_answer_on_a_released_reservation_takes_the_place_back_if_free(corpus):
    """Bob's request after the expiry releases alice's reservation (the item's load drops); her late
    answer then takes the place back, as long as it is free: the load ends equal to the judgments."""
    campaign = _campaign(corpus, warmup_per_class=0, judgments_per_item=2)
    alice, bob = make_user("assessor"), make_user("assessor")
    now = timezone.now()
    item = assignment_next(campaign=campaign, assessor=alice, now=now).item
    assert CampaignItem.objects.get(pk=item.id).load == 1
    later = now + timedelta(hours=2)
    assignment_next(campaign=campaign, assessor=bob, now=later)  # releases alice's reservation
    assert not Assignment.objects.get(assessor=alice).counted
    judgment_record(
        campaign=campaign,
        assessor=alice,
        item_public_id=item.public_id,
        answer="anger",
        response_ms=1500,
        replays=0,
        now=later,
    )
    bob_item = Assignment.objects.get(assessor=bob).item_id
    for counted_item in CampaignItem.objects.filter(role="main"):
        expected = (
            Judgment.objects.filter(item=counted_item).count()
            + Assignment.objects.filter(item=counted_item, counted=True).count()
        )
        assert counted_item.load == expected
    assert CampaignItem.objects.get(pk=item.id).load == 1 + (bob_item == item.id)


def test_an_assessor_returning_after_expiry_gets_a_fresh_reservation(corpus):
    campaign = _campaign(corpus, warmup_per_class=0)
    alice = make_user("assessor")
    now = timezone.now()
    first = assignment_next(campaign=campaign, assessor=alice, now=now).item
    again = assignment_next(campaign=campaign, assessor=alice, now=now + timedelta(hours=1)).item
    assert again.id == first.id  # still the best choice for her, reserved anew
    assert alice.assignments.filter(answered_at__isnull=True).count() == 1


def test_gold_items_are_hidden_and_placed_at_random_positions_per_assessor(corpus, api_client):
    """gold share 0.25 of 12 -> 3 gold items, 9 main. Each assessor's 12 scored trials hold one gold
    item in each window of 4, at a position drawn from the campaign's seed and the assessor (so
    reproducible), and the positions differ between assessors; the API shows every one as main."""
    campaign = _campaign(corpus, gold_share=0.25, judgments_per_item=8)
    roles = Counter(campaign.items.values_list("role", flat=True))
    assert roles == {"warmup": 4, "gold": 3, "main": 9}
    gold = campaign.items.filter(role="gold").select_related("utterance")
    assert all(item.utterance.n_dissenting == 0 for item in gold)
    assert Counter(item.utterance.label for item in gold).most_common(1)[0][1] <= 2  # both classes used
    patterns = set()
    for _ in range(8):
        assessor = make_user("assessor")
        api_client.force_authenticate(assessor)
        shown, stored = [], []
        while True:
            data = api_client.get(f"/api/campaigns/{campaign.pk}/next/").json()
            if data["item"] is None:
                assert data["progress"] == {"done": 16, "total": 16}
                break
            shown.append(data["item"]["phase"])
            stored.append(CampaignItem.objects.get(public_id=data["item"]["id"]).role)
            api_client.post(
                f"/api/campaigns/{campaign.pk}/answers/",
                {"item": data["item"]["id"], "label": "anger", "response_ms": 1500, "replays": 0},
                format="json",
            )
        assert shown == ["warmup"] * 4 + ["main"] * 12  # gold passes as main
        scored = stored[4:]
        positions = tuple(i for i, role in enumerate(scored) if role == "gold")
        assert [p // 4 for p in positions] == [0, 1, 2]  # one in each window of 4 scored trials
        schedule = gold_schedule(seed=campaign.seed, assessor_id=assessor.pk, share=0.25, n_gold_items=3)
        assert positions == tuple(main_before + g for g, main_before in enumerate(schedule))  # reproducible
        patterns.add(positions)
    # 8 assessors with one pattern in common would have a chance of 64**-7 under random placement.
    assert len(patterns) > 1
    assert Judgment.objects.gold().filter(campaign=campaign).count() == 24


def test_gold_schedule_keeps_the_share_and_differs_between_assessors():
    share = 0.1
    schedules = [gold_schedule(seed=7, assessor_id=a, share=share, n_gold_items=50) for a in range(1, 21)]
    assert gold_schedule(seed=7, assessor_id=1, share=share, n_gold_items=50) == schedules[0]
    for schedule in schedules:
        positions = [main_before + g for g, main_before in enumerate(schedule)]
        # Gold item g sits in window g of 10 scored trials: exactly the share, never bunched.
        assert [p // 10 for p in positions] == list(range(50))
    first_positions = Counter(schedule[0] for schedule in schedules)
    assert len(first_positions) >= 5  # 20 assessors over 10 possible first positions
    assert gold_schedule(seed=8, assessor_id=1, share=share, n_gold_items=50) != schedules[0]


def test_progress_total_counts_only_what_is_left_for_this_assessor(corpus):
    """Target 1: once alice has judged everything, bob's total is his warm-up alone."""
    campaign = _campaign(corpus, judgments_per_item=1)
    alice, bob = make_user("assessor"), make_user("assessor")
    now = timezone.now()
    assert assessor_state(campaign=campaign, assessor=bob, now=now).total == 16
    while _take_and_answer(campaign, alice) is not None:
        pass
    state = assessor_state(campaign=campaign, assessor=bob, now=timezone.now())
    assert (state.done, state.total) == (0, 4)
    for _ in range(4):
        assert _take_and_answer(campaign, bob).role == "warmup"
    assert _take_and_answer(campaign, bob) is None
