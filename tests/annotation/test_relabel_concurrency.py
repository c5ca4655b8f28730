"""Many assessors at once: threads with their own database connections call the API together.
No judgment may be lost or duplicated and no utterance may get more judgments than the target.
Runs on SQLite (writers serialised by BEGIN IMMEDIATE) and on PostgreSQL (row and advisory locks).

The last tests put two requests in a fixed order on PostgreSQL: the first one's transaction is held
open at its most delicate point while the second runs, until the second has finished or waits for a
lock. Each fails when the guarantee it names is taken out of annotation/services/assignment_pg.py."""

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import Assignment, CampaignItem, Judgment
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import assignment_next, judgment_record
from tests.factories import make_corpus, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(functions):
    """Start every function in its own thread at the same moment; re-raise the first failure."""
    barrier = threading.Barrier(len(functions))
    results = [None] * len(functions)
    errors = []

    def worker(index, function):
        try:
            barrier.wait(timeout=30)
            results[index] = function()
        except BaseException as exc:  # whatever it is, the main thread re-raises it
            errors.append(exc)
        finally:
            connection.close()  # each thread opened its own connection

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.1)  # 16 utterances


def test_concurrent_next_calls_never_over_assign(corpus):
    """Target 1 and 16 items, 20 assessors asking at once: 16 get 16 different items, 4 get none."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, warmup_per_class=0, judgments_per_item=1)
    assessors = [make_user("assessor") for _ in range(20)]

    def ask(user):
        response = _client(user).get(f"/api/campaigns/{campaign.pk}/next/")
        assert response.status_code == 200, response.content
        item = response.json()["item"]
        return None if item is None else item["id"]

    got = _run_together([lambda u=u: ask(u) for u in assessors])
    handed = [item_id for item_id in got if item_id is not None]
    assert len(handed) == 16 and len(set(handed)) == 16
    assert Assignment.objects.filter(campaign=campaign).count() == 16


def test_one_assessor_in_two_tabs_gets_one_item(corpus):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, warmup_per_class=0)
    alice = make_user("assessor")
    got = _run_together([lambda: _client(alice).get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]] * 4)
    assert len(set(got)) == 1
    assert Assignment.objects.filter(assessor=alice).count() == 1


def test_many_assessors_labelling_at_once_lose_and_duplicate_nothing(corpus):
    """Five assessors work through the campaign in parallel (warm-up, then main items, target 2):
    exactly 2 judgments per scored utterance, 4 warm-up answers each, no utterance twice per person."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, judgments_per_item=2)
    assessors = [make_user("assessor") for _ in range(5)]

    def work(user):
        client = _client(user)
        answered = 0
        while True:
            data = client.get(f"/api/campaigns/{campaign.pk}/next/").json()
            if data["item"] is None:
                return answered
            response = client.post(
                f"/api/campaigns/{campaign.pk}/answers/",
                {"item": data["item"]["id"], "label": "neutral", "response_ms": 1500, "replays": 0},
                format="json",
            )
            assert response.status_code == 201, response.content
            answered += 1

    answered = _run_together([lambda u=u: work(u) for u in assessors])
    main_items = set(campaign.items.filter(role="main").values_list("id", flat=True))
    per_item = Counter(Judgment.objects.filter(campaign=campaign, phase="main").values_list("item_id", flat=True))
    assert set(per_item) == main_items and set(per_item.values()) == {2}
    assert sum(answered) == Judgment.objects.filter(campaign=campaign).count() == 5 * 4 + 12 * 2
    for user in assessors:
        mine = list(Judgment.objects.filter(campaign=campaign, assessor=user).values_list("utterance_id", flat=True))
        assert len(mine) == len(set(mine))
        assert Judgment.objects.filter(campaign=campaign, assessor=user, phase="warmup").count() == 4
        positions = sorted(Judgment.objects.filter(campaign=campaign, assessor=user).values_list("position", flat=True))
        assert positions == list(range(1, len(mine) + 1))


def test_the_same_answer_sent_at_once_is_stored_once(corpus):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    alice = make_user("assessor")
    item_id = _client(alice).get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]
    payload = {"item": item_id, "label": "anger", "response_ms": 300, "replays": 1}

    def send():
        response = _client(alice).post(f"/api/campaigns/{campaign.pk}/answers/", payload, format="json")
        return response.status_code, response.json()

    results = _run_together([send] * 4)
    assert sorted(code for code, _ in results) == [200, 200, 200, 201]
    assert len({str(body) for _, body in results}) == 1
    assert Judgment.objects.filter(assessor=alice).count() == 1


def test_different_answers_sent_at_once_keep_exactly_one(corpus):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    alice = make_user("assessor")
    item_id = _client(alice).get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]

    def send(label):
        payload = {"item": item_id, "label": label, "response_ms": 300, "replays": 0}
        return label, _client(alice).post(f"/api/campaigns/{campaign.pk}/answers/", payload, format="json").status_code

    results = _run_together([lambda: send("anger"), lambda: send("neutral")])
    assert sorted(code for _, code in results) == [201, 409]
    winner = next(label for label, code in results if code == 201)
    assert list(Judgment.objects.filter(assessor=alice).values_list("answer", flat=True)) == [winner]


# --- Fixed interleavings (PostgreSQL) --------------------------------------------------------------

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writers (BEGIN IMMEDIATE): a second writer cannot start while the first "
    "holds its transaction open, so these interleavings cannot happen there",
)


class _Rollback(Exception):
    pass


def _waits_for_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return row is not None and row[0] == "Lock"


def _second_while_first_holds(first, second, *, first_commits: bool = True):
    """Run ``first`` in a transaction left open; meanwhile run ``second`` on another connection until
    it has finished or waits for a lock; then end the first (commit or roll back) and let the second
    finish. Returns (first's result, second's result, whether the second had to wait)."""
    results, errors = {}, []
    first_ran, release, second_ready = threading.Event(), threading.Event(), threading.Event()

    def run_first():
        try:
            with transaction.atomic():
                results["first"] = first()
                first_ran.set()
                release.wait(timeout=60)
                if not first_commits:
                    raise _Rollback
        except _Rollback:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            errors.append(exc)
        finally:
            first_ran.set()
            connection.close()

    def run_second():
        try:
            connection.ensure_connection()
            results["pid"] = connection.connection.info.backend_pid
            second_ready.set()
            results["second"] = second()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            second_ready.set()
            connection.close()

    first_thread = threading.Thread(target=run_first)
    first_thread.start()
    assert first_ran.wait(timeout=60)
    second_thread = threading.Thread(target=run_second)
    second_thread.start()
    assert second_ready.wait(timeout=60)
    deadline = time.monotonic() + 60  # a hang detector only: the outcome never depends on timing
    while second_thread.is_alive() and not errors and not _waits_for_a_lock(results["pid"]):
        assert time.monotonic() < deadline, "the second request neither finished nor waited for a lock"
        time.sleep(0.01)
    waited = second_thread.is_alive()
    release.set()
    first_thread.join(timeout=60)
    second_thread.join(timeout=60)
    assert not first_thread.is_alive() and not second_thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]
    return results.get("first"), results.get("second"), waited


def _campaign_with_one_item_left(corpus):
    """Target 1, no warm-up: carol has judged 15 of the 16 utterances; one item is left."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, warmup_per_class=0, judgments_per_item=1)
    carol = make_user("assessor")
    for _ in range(15):
        item = assignment_next(campaign=campaign, assessor=carol).item
        judgment_record(
            campaign=campaign,
            assessor=carol,
            item_public_id=item.public_id,
            answer="anger",
            response_ms=1500,
            replays=0,
        )
    (last,) = CampaignItem.objects.filter(campaign=campaign, role="main", load=0)
    return campaign, last


def _loads_match_the_rows(campaign) -> bool:
    for item in CampaignItem.objects.filter(campaign=campaign, role="main"):
        counted = (
            Judgment.objects.filter(item=item).count() + Assignment.objects.filter(item=item, counted=True).count()
        )
        if item.load != counted:
            return False
    return True


@postgres_only
def test_the_last_place_is_taken_once_while_its_taker_has_not_committed(corpus):
    """Guarantee: an item's load only rises by a conditional UPDATE (load < target) under its row
    lock. Alice's request has taken the last place and not committed; bob's must not take it too
    (it waits for alice's row, then finds the item full) and is told he is finished."""
    campaign, last = _campaign_with_one_item_left(corpus)
    alice, bob = make_user("assessor"), make_user("assessor")
    first, second, bob_waited = _second_while_first_holds(
        lambda: assignment_next(campaign=campaign, assessor=alice).item,
        lambda: assignment_next(campaign=campaign, assessor=bob).item,
    )
    assert first.id == last.id
    assert second is None and bob_waited
    last.refresh_from_db()
    assert last.load == 1 and Assignment.objects.filter(item=last, answered_at__isnull=True).count() == 1
    assert _loads_match_the_rows(campaign)


@postgres_only
def test_a_request_that_finds_every_item_busy_waits_instead_of_saying_finished(corpus):
    """Guarantee: when every candidate is held by other requests, wait for one and look again.
    Alice's request holds the last item and then rolls back: bob gets it."""
    campaign, last = _campaign_with_one_item_left(corpus)
    alice, bob = make_user("assessor"), make_user("assessor")
    first, second, bob_waited = _second_while_first_holds(
        lambda: assignment_next(campaign=campaign, assessor=alice).item,
        lambda: assignment_next(campaign=campaign, assessor=bob).item,
        first_commits=False,
    )
    assert first.id == last.id and bob_waited
    assert second is not None and second.id == last.id
    assert list(Assignment.objects.filter(item=last).values_list("assessor", flat=True)) == [bob.pk]
    assert _loads_match_the_rows(campaign)


@postgres_only
def test_two_tabs_of_one_assessor_get_one_reservation_even_mid_transaction(corpus):
    """Guarantee: one assessor's requests in one campaign run one at a time (advisory lock). The
    second tab waits for the first's reservation and is given the same item."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, warmup_per_class=0)
    alice = make_user("assessor")
    first, second, waited = _second_while_first_holds(
        lambda: assignment_next(campaign=campaign, assessor=alice).item,
        lambda: assignment_next(campaign=campaign, assessor=alice).item,
    )
    assert waited and second.id == first.id
    assert Assignment.objects.filter(assessor=alice).count() == 1
    assert _loads_match_the_rows(campaign)


@postgres_only
def test_an_answer_racing_the_release_of_its_expired_reservation_keeps_the_load_right(corpus):
    """Guarantee: an answer locks its reservation before reading whether it still counts. Bob's
    request releases alice's expired reservation (load down) and has not committed; alice's late
    answer waits for it, then takes the place back: every load still equals judgments + counted."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, warmup_per_class=0)
    alice, bob = make_user("assessor"), make_user("assessor")
    now = timezone.now()
    item = assignment_next(campaign=campaign, assessor=alice, now=now).item
    later = now + timedelta(hours=1)
    _, result, alice_waited = _second_while_first_holds(
        lambda: assignment_next(campaign=campaign, assessor=bob, now=later),
        lambda: judgment_record(
            campaign=campaign,
            assessor=alice,
            item_public_id=item.public_id,
            answer="anger",
            response_ms=1500,
            replays=0,
            now=later,
        ),
    )
    assert alice_waited and result.created
    assert Judgment.objects.filter(assessor=alice, item_id=item.id).exists()
    assert _loads_match_the_rows(campaign)
