"""Many assessors at once: threads with their own database connections call the API together.
No judgment may be lost or duplicated and no utterance may get more judgments than the target.
Runs on SQLite (writers serialised by BEGIN IMMEDIATE) and on PostgreSQL (SELECT ... FOR UPDATE)."""

import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.test import APIClient

from annotation.models import Assignment, Judgment
from annotation.services.campaigns import campaign_create
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
                {"item": data["item"]["id"], "label": "neutral", "response_ms": 100, "replays": 0},
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
