"""The campaign REST API end to end: create, work through warm-up and main phase, every refusal."""

from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Assignment, Campaign, CampaignItem, Judgment
from annotation.services.campaigns import campaign_create
from tests.factories import confirm_instructions, make_corpus, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path: Path):
    # 2 classes x 4 speakers x 2 = 16 utterances, every one with 3 agreeing expert votes.
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.2)


def _campaign(corpus, **kwargs):
    return campaign_create(corpus=corpus, name=kwargs.pop("name", "c1"), created_by=None, **kwargs)


def _next(client, campaign):
    response = client.get(f"/api/campaigns/{campaign.pk}/next/")
    assert response.status_code == 200, response.content
    return response.json()


def _answer(client, campaign, item_id, label, response_ms=1200, replays=0):
    return client.post(
        f"/api/campaigns/{campaign.pk}/answers/",
        {"item": item_id, "label": label, "response_ms": response_ms, "replays": replays},
        format="json",
    )


def _expert_label(item_id) -> str:
    return CampaignItem.objects.get(public_id=item_id).utterance.label


def test_create_campaign_through_the_api(api_client, researcher, corpus):
    named = make_user("assessor", username="alice")
    api_client.force_authenticate(researcher)
    response = api_client.post(
        "/api/campaigns/",
        {"corpus": "tiny", "name": "Round 1", "judgments_per_item": 2, "feedback": True, "assessors": ["alice"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get(pk=response.json()["id"])
    assert campaign.name == "Round 1" and campaign.classes == ["anger", "neutral"]
    assert campaign.judgments_per_item == 2 and campaign.feedback and campaign.is_open
    assert list(campaign.assessors.all()) == [named]
    assert campaign.created_by == researcher
    # 2 warm-up per class, the other 12 scored.
    assert campaign.items.filter(role="warmup").count() == 4
    assert campaign.items.filter(role="main").count() == 12


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"corpus": "nope", "name": "x"}, "corpus"),
        ({"corpus": "tiny", "name": ""}, "name"),
        ({"corpus": "tiny", "name": "x", "judgments_per_item": 0}, "judgments_per_item"),
        ({"corpus": "tiny", "name": "x", "gold_share": 0.9}, "gold_share"),
        ({"corpus": "tiny", "name": "x", "replay_limit": -1}, "replay_limit"),
    ],
)
def test_create_refuses_bad_settings_with_the_field(api_client, researcher, corpus, payload, field):
    api_client.force_authenticate(researcher)
    response = api_client.post("/api/campaigns/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Campaign.objects.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"assessors": ["ghost"]}, "no active user named ghost"),
        ({"classes": ["anger", "joy"]}, "joy not in the class set"),
        ({"warmup_utterances": ["missing_utt"]}, "missing_utt"),
    ],
)
def test_create_refuses_settings_the_service_rejects(api_client, researcher, corpus, extra, message):
    api_client.force_authenticate(researcher)
    response = api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "x", **extra}, format="json")
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Campaign.objects.exists()


def test_a_second_campaign_with_the_same_name_is_refused(api_client, researcher, corpus):
    _campaign(corpus, name="same")
    api_client.force_authenticate(researcher)
    response = api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "same"}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "name"
    assert Campaign.objects.count() == 1


def test_only_researchers_and_admins_create(api_client, assessor, admin_user, corpus):
    api_client.force_authenticate(assessor)
    assert api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "x"}, format="json").status_code == 403
    api_client.force_authenticate(admin_user)
    assert api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "x"}, format="json").status_code == 201


def test_anonymous_calls_get_401(api_client, corpus):
    campaign = _campaign(corpus)
    assert api_client.get("/api/campaigns/").status_code == 401
    assert api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "x"}, format="json").status_code == 401
    assert api_client.get(f"/api/campaigns/{campaign.pk}/next/").status_code == 401
    assert _answer(api_client, campaign, "00000000-0000-0000-0000-000000000000", "anger").status_code == 401


def test_token_authentication_works(api_client, assessor, corpus):
    campaign = _campaign(corpus)
    token = Token.objects.create(user=assessor)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["phase"] == "warmup"


def test_list_shows_each_user_what_they_may_work_on_or_manage(api_client, corpus, researcher):
    alice = make_user("assessor", username="alice")
    bob = make_user("assessor", username="bob")
    everyone = _campaign(corpus, name="everyone")
    only_bob = _campaign(corpus, name="only bob", assessors=["bob"])
    api_client.force_authenticate(alice)
    listed = api_client.get("/api/campaigns/").json()
    assert [c["name"] for c in listed] == ["everyone"]
    assert listed[0]["progress"] == {"done": 0, "total": 4 + 12}
    assert listed[0]["assessors"] == []  # assessors are not told who else labels
    api_client.force_authenticate(bob)
    assert {c["name"] for c in api_client.get("/api/campaigns/").json()} == {"everyone", "only bob"}
    api_client.force_authenticate(researcher)
    listed = {c["name"]: c for c in api_client.get("/api/campaigns/").json()}
    assert set(listed) == {"everyone", "only bob"}
    assert listed["only bob"]["assessors"] == ["bob"] and listed["only bob"]["progress"] is None
    assert everyone.pk != only_bob.pk


def test_whole_flow_through_warmup_and_main_phase(api_client, corpus):
    """One assessor, feedback off for main items: warm-up comes first with feedback, then every main
    item once, then item null; the stored judgments say which were warm-up."""
    campaign = _campaign(corpus, feedback=False)
    alice = make_user("assessor", username="alice")
    api_client.force_authenticate(alice)
    warmup_ids = set(map(str, campaign.items.filter(role="warmup").values_list("public_id", flat=True)))
    seen = []
    while True:
        data = _next(api_client, campaign)
        assert data["classes"] == ["anger", "neutral"]
        assert data["progress"]["done"] == len(seen)
        assert data["progress"]["total"] == 16
        if data["item"] is None:
            break
        item = data["item"]
        assert set(item) == {"id", "audio_url", "duration", "phase"}
        assert item["duration"] == pytest.approx(0.2, abs=1e-3)
        assert item["phase"] == ("warmup" if len(seen) < 4 else "main")
        assert (item["id"] in warmup_ids) == (len(seen) < 4)
        # Asking again before answering hands out the same item.
        assert _next(api_client, campaign)["item"]["id"] == item["id"]
        expert = _expert_label(item["id"])
        wrong = "neutral" if expert == "anger" else "anger"
        label = expert if len(seen) % 3 else wrong
        response = _answer(api_client, campaign, item["id"], label, response_ms=900 + len(seen), replays=len(seen) % 2)
        assert response.status_code == 201, response.content
        body = response.json()
        if item["phase"] == "warmup":
            assert body == {"item": item["id"], "correct": label == expert, "expert_label": expert}
        else:
            assert body == {"item": item["id"]}  # no feedback on main items in this campaign
        seen.append((item["id"], label, expert))
    assert len(seen) == 16 and len({item_id for item_id, _, _ in seen}) == 16
    judgments = list(Judgment.objects.filter(campaign=campaign, assessor=alice).order_by("position"))
    assert [j.position for j in judgments] == list(range(1, 17))
    assert [str(j.item.public_id) for j in judgments] == [item_id for item_id, _, _ in seen]
    assert [j.phase for j in judgments] == ["warmup"] * 4 + ["main"] * 12
    assert all(
        j.answer == label and j.expert_label == expert and j.is_correct == (label == expert)
        for j, (_, label, expert) in zip(judgments, seen, strict=True)
    )
    assert [j.response_ms for j in judgments] == [900 + k for k in range(16)]
    assert [j.replays for j in judgments] == [k % 2 for k in range(16)]
    assert Judgment.objects.scored().filter(campaign=campaign).count() == 12
    assert not Assignment.objects.filter(campaign=campaign, answered_at__isnull=True).exists()


def test_feedback_on_main_items_when_the_campaign_gives_it(api_client, corpus, assessor):
    campaign = _campaign(corpus, warmup_per_class=0)
    api_client.force_authenticate(assessor)
    item = _next(api_client, campaign)["item"]
    assert item["phase"] == "main"
    expert = _expert_label(item["id"])
    body = _answer(api_client, campaign, item["id"], expert).json()
    assert body["correct"] is True and body["expert_label"] == expert


def test_submitting_twice_is_idempotent_and_a_changed_answer_is_refused(api_client, corpus, assessor):
    campaign = _campaign(corpus)
    api_client.force_authenticate(assessor)
    item_id = _next(api_client, campaign)["item"]["id"]
    first = _answer(api_client, campaign, item_id, "anger", response_ms=700)
    again = _answer(api_client, campaign, item_id, "anger", response_ms=9999)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    changed = _answer(api_client, campaign, item_id, "neutral")
    assert changed.status_code == 409 and "already answered" in changed.json()["detail"]
    judgment = Judgment.objects.get(campaign=campaign, assessor=assessor)
    assert (judgment.answer, judgment.response_ms) == ("anger", 700)


@pytest.mark.parametrize(
    "payload_change, status, message",
    [
        ({"label": "joy"}, 400, "unknown label 'joy'"),
        ({"label": ""}, 400, "label"),
        ({"response_ms": -5}, 400, "response_ms"),
        ({"response_ms": 3_600_001}, 400, "response_ms must be between"),
        ({"replays": -1}, 400, "replays"),
        ({"replays": 2}, 400, "allows 1 replay"),
        ({"item": "not-a-uuid"}, 400, "item"),
        ({"item": "00000000-0000-0000-0000-000000000000"}, 409, "not assigned to you"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_stored(api_client, corpus, assessor, payload_change, status, message):
    campaign = _campaign(corpus, replay_limit=1)
    api_client.force_authenticate(assessor)
    item_id = _next(api_client, campaign)["item"]["id"]
    payload = {"item": item_id, "label": "anger", "response_ms": 1000, "replays": 0, **payload_change}
    response = api_client.post(f"/api/campaigns/{campaign.pk}/answers/", payload, format="json")
    assert response.status_code == status
    assert message in str(response.json())
    assert not Judgment.objects.exists()
    # The item is still reserved and can be answered properly afterwards.
    assert _answer(api_client, campaign, item_id, "anger", replays=1).status_code == 201


def test_an_item_not_assigned_to_this_assessor_is_refused(api_client, corpus):
    campaign = _campaign(corpus, warmup_per_class=0)
    alice, bob = make_user("assessor"), make_user("assessor")
    api_client.force_authenticate(alice)
    alice_item = _next(api_client, campaign)["item"]["id"]
    other_item = str(campaign.items.exclude(public_id=alice_item).first().public_id)
    api_client.force_authenticate(bob)
    assert _answer(api_client, campaign, alice_item, "anger").status_code == 409  # alice's, not bob's
    assert _answer(api_client, campaign, other_item, "anger").status_code == 409  # never handed out
    other_campaign = _campaign(corpus, name="c2", warmup_per_class=0)
    response = api_client.post(
        f"/api/campaigns/{other_campaign.pk}/answers/",
        {"item": alice_item, "label": "anger", "response_ms": 1500, "replays": 0},
        format="json",
    )
    assert response.status_code == 409  # an item of another campaign
    assert not Judgment.objects.exists()


def test_a_campaign_you_are_not_part_of_answers_as_one_that_does_not_exist(api_client, corpus, researcher):
    """An assessor the campaign does not name, or a user with no role, gets the very answer a missing
    campaign gives, on every labelling endpoint; researchers, who see every campaign, get 403."""
    alice = make_user("assessor", username="alice")
    campaign = _campaign(corpus, assessors=[alice.username])
    api_client.force_authenticate(alice)
    item_id = _next(api_client, campaign)["item"]["id"]
    answer = {"item": item_id, "label": "anger", "response_ms": 1500, "replays": 0}
    missing = 999999

    def answers(campaign_id):
        return api_client.post(f"/api/campaigns/{campaign_id}/answers/", answer, format="json")

    for user in (make_user("assessor"), make_user("none")):
        api_client.force_authenticate(user)
        for call in (lambda c: api_client.get(f"/api/campaigns/{c}/next/"), answers):
            response, absent = call(campaign.pk), call(missing)
            assert absent.status_code == 404
            assert (response.status_code, response.json()) == (absent.status_code, absent.json())
        assert campaign.pk not in [c["id"] for c in api_client.get("/api/campaigns/").json()]
    api_client.force_authenticate(researcher)
    assert api_client.get(f"/api/campaigns/{campaign.pk}/next/").status_code == 403
    assert not Judgment.objects.exists()


def test_a_closed_campaign_refuses_next_and_answers_with_409(api_client, corpus, assessor):
    campaign = _campaign(corpus)
    api_client.force_authenticate(assessor)
    item_id = _next(api_client, campaign)["item"]["id"]
    campaign.is_open = False
    campaign.save()
    response = api_client.get(f"/api/campaigns/{campaign.pk}/next/")
    assert response.status_code == 409 and "closed" in response.json()["detail"]
    response = _answer(api_client, campaign, item_id, "anger")
    assert response.status_code == 409 and "closed" in response.json()["detail"]
    assert not Judgment.objects.exists()


def test_items_per_assessor_limits_main_items_only(api_client, corpus, assessor):
    campaign = _campaign(corpus, items_per_assessor=3)
    api_client.force_authenticate(assessor)
    phases = []
    while (item := _next(api_client, campaign)["item"]) is not None:
        phases.append(item["phase"])
        assert _answer(api_client, campaign, item["id"], "anger").status_code == 201
    assert phases == ["warmup"] * 4 + ["main"] * 3
    assert _next(api_client, campaign)["progress"] == {"done": 7, "total": 7}


def test_csrf_is_enforced_for_session_clients(client, corpus, assessor):
    from django.test import Client

    campaign = _campaign(corpus)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(assessor)
    confirm_instructions(campaign, assessor)
    item_id = strict.get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]
    payload = {"item": item_id, "label": "anger", "response_ms": 1200, "replays": 0}
    response = strict.post(f"/api/campaigns/{campaign.pk}/answers/", payload, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    page = strict.get(f"/campaigns/{campaign.pk}/label/").content.decode()
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = strict.post(
        f"/api/campaigns/{campaign.pk}/answers/", payload, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201


def test_schema_documents_the_campaign_endpoints(client, researcher):
    client.force_login(researcher)
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"get", "post"} <= set(paths["/api/campaigns/"])
    assert "get" in paths["/api/campaigns/{campaign_id}/next/"]
    answers = paths["/api/campaigns/{campaign_id}/answers/"]["post"]
    assert {"201", "400", "409"} <= set(answers["responses"])


def test_schema_of_the_campaign_endpoints_has_no_warnings():
    from django.urls import include, path
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/", include("annotation.api_urls"))])
    schema = generator.get_schema(request=None, public=True)
    assert "/api/campaigns/{campaign_id}/answers/" in schema["paths"]
    assert not GENERATOR_STATS, "drf-spectacular warned about the campaign API"


def test_assessors_are_told_nothing_about_gold(api_client, corpus, researcher, assessor):
    """No gold share (nor any other gold field) in what an assessor can read; researchers see it."""
    campaign = _campaign(corpus, gold_share=0.25)
    api_client.force_authenticate(assessor)
    listed = api_client.get("/api/campaigns/").json()
    assert [c["id"] for c in listed] == [campaign.pk]
    assert not [key for key in listed[0] if "gold" in key]
    body = str(listed) + str(_next(api_client, campaign))
    assert "gold" not in body.lower()
    api_client.force_authenticate(researcher)
    assert api_client.get("/api/campaigns/").json()[0]["gold_share"] == 0.25


def _label_all(client, campaign) -> list[str]:
    """Answer everything the campaign hands out; returns the utterance names heard."""
    heard = []
    while (item := _next(client, campaign)["item"]) is not None:
        heard.append(CampaignItem.objects.get(public_id=item["id"]).utterance.name)
        assert _answer(client, campaign, item["id"], "anger").status_code == 201
    return heard


def test_an_utterance_whose_label_you_saw_elsewhere_is_not_given_again(api_client, corpus):
    """Alice labels campaign A with feedback on (so she saw every expert label): campaign B, on the same
    corpus, gives her none of those utterances but its own warm-up. With the setting off, it does."""
    alice = make_user("assessor", username="alice")
    api_client.force_authenticate(alice)
    first = _campaign(corpus, name="A", items_per_assessor=6)
    seen = set(_label_all(api_client, first))
    assert len(seen) == 4 + 6
    second = _campaign(corpus, name="B")
    warmup_b = set(second.items.filter(role="warmup").values_list("utterance__name", flat=True))
    heard = _label_all(api_client, second)
    assert not (set(heard) - warmup_b) & seen
    assert len(heard) == 16 - len(seen - warmup_b)  # everything else in B
    assert _next(api_client, second)["progress"] == {"done": len(heard), "total": len(heard)}

    third = _campaign(corpus, name="C", exclude_seen_elsewhere=False)
    assert len(_label_all(api_client, third)) == 16
    api_client.force_authenticate(make_user("researcher"))
    assert {c["name"]: c["exclude_seen_elsewhere"] for c in api_client.get("/api/campaigns/").json()} == {
        "A": True,
        "B": True,
        "C": False,
    }


def test_labels_not_shown_elsewhere_do_not_exclude(api_client, corpus):
    """Feedback off in A: alice never saw A's main labels, only its warm-up ones."""
    alice = make_user("assessor", username="alice")
    api_client.force_authenticate(alice)
    first = _campaign(corpus, name="A", feedback=False, items_per_assessor=6)
    heard_a = _label_all(api_client, first)
    warmup_a = set(first.items.filter(role="warmup").values_list("utterance__name", flat=True))
    second = _campaign(corpus, name="B", warmup_per_class=0)
    heard_b = set(_label_all(api_client, second))
    assert heard_b == {u for u in second.items.values_list("utterance__name", flat=True)} - warmup_a
    assert set(heard_a) - warmup_a <= heard_b


def test_the_campaign_list_takes_the_same_number_of_queries_for_1_or_10_campaigns(api_client, corpus, researcher):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    alice = make_user("assessor", username="alice")

    def queries_for(user) -> int:
        """As a real client asks: with its API token (a fresh user object, nothing cached)."""
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/api/campaigns/")
        assert response.status_code == 200
        return len(captured)

    first = _campaign(corpus, name="c0", gold_share=0.2, assessors=["alice", researcher.username])
    api_client.force_authenticate(alice)
    _answer(api_client, first, _next(api_client, first)["item"]["id"], "anger")
    one = {user.username: queries_for(user) for user in (alice, researcher)}
    for k in range(1, 10):
        _campaign(corpus, name=f"c{k}", items_per_assessor=3, assessors=["alice", researcher.username])
    ten = {user.username: queries_for(user) for user in (alice, researcher)}
    assert ten == one
    api_client.force_authenticate(alice)
    listed = api_client.get("/api/campaigns/").json()
    assert len(listed) == 10 and all(c["progress"] is not None for c in listed)


def test_next_and_answer_bodies_have_the_documented_shape(api_client, corpus, assessor):
    """The two hot views build their bodies without the serializers: the bodies must still be what
    the schema says, field for field."""
    from annotation.api.serializers import AnswerResultSerializer, NextItemSerializer

    campaign = _campaign(corpus)
    api_client.force_authenticate(assessor)
    body = _next(api_client, campaign)
    assert NextItemSerializer(body).data == body
    assert set(body["item"]) == {"id", "audio_url", "duration", "phase"}
    assert body["item"]["audio_url"] == f"/campaigns/{campaign.pk}/audio/{body['item']['id']}/"
    answered = _answer(api_client, campaign, body["item"]["id"], "anger").json()
    assert AnswerResultSerializer(answered).data == answered
    assert set(answered) == {"item", "correct", "expert_label"}
