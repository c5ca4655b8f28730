"""The assessor's side of a listening test (issue 15): instructions, "can't tell", minimum listening,
undo, breaks and the assessor's own progress; the server-side checks behind each."""

from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from annotation.instructions import render_instructions
from annotation.models import Campaign, InstructionsConfirmation
from annotation.services.campaigns import campaign_create
from tests.factories import make_corpus, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path: Path):
    # 2 classes x 4 speakers x 2 = 16 utterances of 2 s, every one with 3 agreeing expert votes.
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=2.0)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 1. Instructions and the new settings ------------------------------------------------------------


def test_create_campaign_with_the_listening_test_settings(api_client, researcher, corpus):
    api_client.force_authenticate(researcher)
    response = api_client.post(
        "/api/campaigns/",
        {
            "corpus": "tiny",
            "name": "With instructions",
            "instructions": "# Task\n\nChoose the emotion **you hear**.",
            "class_definitions": {"anger": "raised, tense voice", "neutral": " no emotion in particular "},
            "allow_cant_tell": True,
            "min_listen_fraction": 0.5,
            "break_every": 10,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["allow_cant_tell"] is True and body["min_listen_fraction"] == 0.5 and body["break_every"] == 10
    assert body["class_definitions"] == {"anger": "raised, tense voice", "neutral": "no emotion in particular"}
    campaign = Campaign.objects.get(pk=body["id"])
    assert campaign.instructions.startswith("# Task") and campaign.allow_cant_tell


def test_defaults_follow_the_listening_test_practice(corpus):
    campaign = campaign_create(corpus=corpus, name="plain", created_by=None)
    assert campaign.min_listen_fraction == 1.0  # the whole clip, on by default
    assert campaign.break_every == 50 and not campaign.allow_cant_tell
    assert campaign.instructions == "" and campaign.class_definitions == {}


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"class_definitions": {"joy": "smiling voice"}}, "class_definitions"),
        ({"min_listen_fraction": 1.5}, "min_listen_fraction"),
        ({"min_listen_fraction": -0.1}, "min_listen_fraction"),
        ({"break_every": -1}, "break_every"),
        ({"instructions": "x" * 20_001}, "instructions"),
        ({"classes": ["anger", "cant_tell"]}, "classes"),
    ],
)
def test_create_refuses_bad_listening_test_settings(api_client, researcher, corpus, extra, field):
    api_client.force_authenticate(researcher)
    response = api_client.post("/api/campaigns/", {"corpus": "tiny", "name": "x", **extra}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json() or response.json().get("field") == field
    assert not Campaign.objects.exists()


def test_instructions_are_rendered_without_scripts_or_raw_html():
    html = render_instructions(
        "# Title\n\n**bold** <script>alert(1)</script> <img src=x onerror=alert(1)>"
        " [bad](javascript:alert(1)) [good](https://example.org)"
    )
    assert "<h2>Title</h2>" in html and "<strong>bold</strong>" in html
    assert "<script" not in html and "alert(1)" not in html and "onerror" not in html and "<img" not in html
    assert 'href="https://example.org"' in html and "javascript:" not in html


def test_instructions_come_before_the_first_item_and_are_confirmed_once(corpus):
    campaign = campaign_create(
        corpus=corpus,
        name="c",
        created_by=None,
        instructions="Listen with **headphones**. <script>steal()</script>",
        class_definitions={"anger": "raised, tense voice"},
        allow_cant_tell=True,
    )
    assessor = make_user("assessor")
    client = _signed_in(assessor)
    first = client.get(f"/campaigns/{campaign.pk}/label/")
    assert first.status_code == 302 and first["Location"] == f"/campaigns/{campaign.pk}/instructions/"
    page = client.get(first["Location"]).content.decode()
    assert "<strong>headphones</strong>" in page and "steal()" not in page
    assert "raised, tense voice" in page and "Can't tell" in page
    assert 'id="confirm-instructions"' in page

    confirmed = client.post(f"/campaigns/{campaign.pk}/instructions/")
    assert confirmed.status_code == 302 and confirmed["Location"] == f"/campaigns/{campaign.pk}/label/"
    stored = InstructionsConfirmation.objects.get(campaign=campaign, assessor=assessor)
    assert client.get(f"/campaigns/{campaign.pk}/label/").status_code == 200
    # Reachable from the trial page afterwards, with no second confirmation asked; the first time is kept.
    trial_page = client.get(f"/campaigns/{campaign.pk}/label/").content.decode()
    assert f'href="/campaigns/{campaign.pk}/instructions/"' in trial_page
    again = client.get(f"/campaigns/{campaign.pk}/instructions/").content.decode()
    assert 'id="confirm-instructions"' not in again and "Back to labelling" in again
    client.post(f"/campaigns/{campaign.pk}/instructions/")
    assert InstructionsConfirmation.objects.get(pk=stored.pk).confirmed_at == stored.confirmed_at
    assert InstructionsConfirmation.objects.count() == 1


def test_outsiders_cannot_read_or_confirm_instructions(corpus):
    make_user("assessor", username="alice")
    campaign = campaign_create(corpus=corpus, name="named", created_by=None, assessors=["alice"])
    outsider = _signed_in(make_user("assessor"))
    assert outsider.get(f"/campaigns/{campaign.pk}/instructions/").status_code == 404
    assert outsider.post(f"/campaigns/{campaign.pk}/instructions/").status_code == 404
    assert not InstructionsConfirmation.objects.exists()
    anonymous = Client().get(f"/campaigns/{campaign.pk}/instructions/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


# --- helpers for the answer steps -------------------------------------------------------------------


def _next(client, campaign) -> dict:
    response = client.get(f"/api/campaigns/{campaign.pk}/next/")
    assert response.status_code == 200, response.content
    return response.json()


def _answer(client, campaign, item_id, label, response_ms=2500, played_fraction=1.0, replays=0):
    body = {"item": item_id, "label": label, "response_ms": response_ms, "replays": replays}
    if played_fraction is not None:
        body["played_fraction"] = played_fraction
    return client.post(f"/api/campaigns/{campaign.pk}/answers/", body, format="json")


def _expert(item_id) -> str:
    from annotation.models import CampaignItem

    return CampaignItem.objects.select_related("utterance").get(public_id=item_id).utterance.label


def _other(label) -> str:
    return "neutral" if label == "anger" else "anger"


# --- 2. "can't tell" ----------------------------------------------------------------------------------


def test_cant_tell_is_refused_unless_the_campaign_offers_it(api_client, corpus):
    from annotation.models import Judgment

    campaign = campaign_create(corpus=corpus, name="forced", created_by=None, warmup_per_class=0)
    assessor = make_user("assessor")
    api_client.force_authenticate(assessor)
    item = _next(api_client, campaign)["item"]
    response = _answer(api_client, campaign, item["id"], "cant_tell")
    assert response.status_code == 400 and "unknown label 'cant_tell'" in response.json()["detail"]
    assert not Judgment.objects.exists()


def test_cant_tell_is_its_own_answer_never_a_wrong_label(api_client, corpus):
    from annotation.models import Judgment
    from annotation.selectors.campaigns import campaign_overview
    from models_app.selectors.reports import report_answer_counts, report_judgments

    campaign = campaign_create(corpus=corpus, name="unsure", created_by=None, warmup_per_class=0, allow_cant_tell=True)
    assessor = make_user("assessor", username="unsure-ann")
    api_client.force_authenticate(assessor)
    # Three scored answers: "can't tell", a right one, a wrong one.
    first = _next(api_client, campaign)["item"]
    response = _answer(api_client, campaign, first["id"], "cant_tell")
    assert response.status_code == 201, response.content
    # With feedback on, the assessor still learns the experts' label; "correct" is false, not an error.
    assert response.json() == {"item": first["id"], "correct": False, "expert_label": _expert(first["id"])}
    second = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, second["id"], _expert(second["id"])).status_code == 201
    third = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, third["id"], _other(_expert(third["id"]))).status_code == 201

    stored = Judgment.objects.get(item__public_id=first["id"])
    assert stored.answer == "cant_tell" and stored.is_cant_tell and not stored.is_correct
    assert Judgment.objects.labelled().count() == 2

    row = campaign_overview(campaign=campaign, now=timezone.now()).assessors[0]
    assert (row.main_done, row.main_cant_tell, row.main_labelled, row.main_correct) == (3, 1, 2, 1)
    assert row.main_accuracy == 0.5  # 1 of the 2 labelled answers, not 1 of 3

    # The report's human row sees only the labelled answers; "can't tell" has its own count.
    assert sorted(j.answer for j in report_judgments(campaign=campaign)) == sorted(
        [_expert(second["id"]), _other(_expert(third["id"]))]
    )
    counts = report_answer_counts(campaign=campaign)
    assert counts["cant_tell"] == 1 and counts["scored"] == 3
    assert counts["by_assessor"]["unsure-ann"] == {"scored": 3, "cant_tell": 1, "changed": 0}

    # The researcher's campaign page shows the column, and 50% agreement (not 33%).
    researcher = make_user("researcher")
    page = _signed_in(researcher).get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "Can&#x27;t tell" in page or "Can't tell" in page
    assert "50%" in page


# --- 3. Minimum listening ---------------------------------------------------------------------------


def test_an_answer_before_the_clip_was_heard_is_refused_with_409(api_client, corpus):
    from annotation.models import Judgment

    campaign = campaign_create(corpus=corpus, name="listen", created_by=None, warmup_per_class=0)
    api_client.force_authenticate(make_user("assessor"))
    item = _next(api_client, campaign)["item"]
    assert item["duration"] == 2.0
    # 30 ms after the start of a 2 s clip: no one heard it.
    too_soon = _answer(api_client, campaign, item["id"], "anger", response_ms=30, played_fraction=None)
    assert too_soon.status_code == 409
    assert too_soon.json()["detail"] == (
        "answered 0.03 s after the clip started; listening to all of this 2.00 s clip takes 2.00 s"
    )
    # Time enough, but the browser says only 40% of the clip played (a seek to the end).
    skipped = _answer(api_client, campaign, item["id"], "anger", response_ms=5000, played_fraction=0.4)
    assert skipped.status_code == 409
    assert (
        skipped.json()["detail"]
        == "you have heard 40% of the clip; this campaign asks you to listen to all of it before answering"
    )
    assert not Judgment.objects.exists()
    # The whole clip, up to the slack of a few hundredths: accepted, and the played share stored.
    accepted = _answer(api_client, campaign, item["id"], "anger", response_ms=1800, played_fraction=0.99)
    assert accepted.status_code == 201, accepted.content
    assert Judgment.objects.get().played_fraction == 0.99


def test_a_share_of_the_clip_and_no_rule(api_client, corpus):
    half = campaign_create(corpus=corpus, name="half", created_by=None, warmup_per_class=0, min_listen_fraction=0.5)
    api_client.force_authenticate(make_user("assessor"))
    item = _next(api_client, half)["item"]
    refused = _answer(api_client, half, item["id"], "anger", response_ms=700, played_fraction=0.5)
    assert (
        refused.status_code == 409 and "listening to 50% of this 2.00 s clip takes 1.00 s" in refused.json()["detail"]
    )
    assert _answer(api_client, half, item["id"], "anger", response_ms=1000, played_fraction=0.5).status_code == 201

    free = campaign_create(corpus=corpus, name="free", created_by=None, warmup_per_class=0, min_listen_fraction=0)
    item = _next(api_client, free)["item"]
    assert _answer(api_client, free, item["id"], "anger", response_ms=30, played_fraction=0.0).status_code == 201


def test_played_fraction_out_of_range_is_a_bad_request(api_client, corpus):
    campaign = campaign_create(corpus=corpus, name="bounds", created_by=None, warmup_per_class=0)
    api_client.force_authenticate(make_user("assessor"))
    item = _next(api_client, campaign)["item"]
    response = _answer(api_client, campaign, item["id"], "anger", played_fraction=1.5)
    assert response.status_code == 400 and "played_fraction" in response.json()


# --- 4. Undo ------------------------------------------------------------------------------------------


def _change(client, campaign, item_id, label):
    return client.post(f"/api/campaigns/{campaign.pk}/answers/{item_id}/change/", {"label": label}, format="json")


def test_an_answer_can_be_changed_until_the_next_item_is_handed_out(api_client, corpus):
    from annotation.models import Judgment

    campaign = campaign_create(corpus=corpus, name="undo", created_by=None, warmup_per_class=0, allow_cant_tell=True)
    api_client.force_authenticate(make_user("assessor"))
    item = _next(api_client, campaign)["item"]
    expert = _expert(item["id"])
    assert _answer(api_client, campaign, item["id"], _other(expert), response_ms=2345).status_code == 201
    first_time = Judgment.objects.get().created_at

    # A slip of the key: changed to the right label, then to "can't tell", before going on.
    changed = _change(api_client, campaign, item["id"], expert)
    assert changed.status_code == 200, changed.content
    assert changed.json() == {"item": item["id"], "correct": True, "expert_label": expert}
    assert _change(api_client, campaign, item["id"], "cant_tell").status_code == 200
    judgment = Judgment.objects.get()
    assert judgment.answer == "cant_tell" and not judgment.is_correct
    assert judgment.first_answer == _other(expert)  # the very first answer, kept through both changes
    assert judgment.changed_at is not None and judgment.changed_at >= first_time
    assert judgment.response_ms == 2345  # the time to the first answer
    assert judgment.was_changed

    # A bad label is a bad request and changes nothing.
    bad = _change(api_client, campaign, item["id"], "joy")
    assert bad.status_code == 400 and Judgment.objects.get().answer == "cant_tell"

    # The next item is handed out: from then on, no change.
    _next(api_client, campaign)
    late = _change(api_client, campaign, item["id"], expert)
    assert late.status_code == 409
    assert late.json()["detail"].startswith("too late to change this answer: the next item was already handed to you")
    assert Judgment.objects.get().answer == "cant_tell"


def test_change_refusals(api_client, corpus):
    campaign = campaign_create(corpus=corpus, name="undo-no", created_by=None, warmup_per_class=0)
    alice = make_user("assessor", username="alice")
    api_client.force_authenticate(alice)
    item = _next(api_client, campaign)["item"]
    # Nothing answered yet: nothing to change.
    never = _change(api_client, campaign, item["id"], "anger")
    assert never.status_code == 409 and "nothing to change" in never.json()["detail"]
    assert _answer(api_client, campaign, item["id"], "anger").status_code == 201
    # Someone else cannot change alice's answer (the item was never theirs), nor can an outsider see the campaign.
    api_client.force_authenticate(make_user("assessor"))
    assert _change(api_client, campaign, item["id"], "neutral").status_code == 409
    api_client.force_authenticate(make_user("none"))
    assert _change(api_client, campaign, item["id"], "neutral").status_code == 404
    # A closed campaign takes no change either.
    from annotation.services.campaigns import campaign_set_open

    campaign_set_open(campaign=campaign, is_open=False)
    api_client.force_authenticate(alice)
    assert _change(api_client, campaign, item["id"], "neutral").status_code == 409


# --- 5. The assessor's own progress ---------------------------------------------------------------


def test_my_progress_api_and_page(api_client, corpus):
    campaign = campaign_create(corpus=corpus, name="mine", created_by=None, warmup_per_class=1, allow_cant_tell=True)
    assessor = make_user("assessor")
    api_client.force_authenticate(assessor)
    empty = api_client.get(f"/api/campaigns/{campaign.pk}/me/").json()
    assert empty == {
        "answered": 0,
        "remaining": 16,
        "total": 16,
        "warmup": {"done": 0, "total": 2},
        "scored": 0,
        "cant_tell": 0,
        "changed": 0,
        "agreement": None,
        "instructions_confirmed": False,
        "is_open": True,
    }
    # Two warm-up answers, then scored: one right, one wrong, one "can't tell" (changed from a label).
    for _ in range(2):
        item = _next(api_client, campaign)["item"]
        assert item["phase"] == "warmup"
        assert _answer(api_client, campaign, item["id"], _expert(item["id"])).status_code == 201
    right = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, right["id"], _expert(right["id"])).status_code == 201
    wrong = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, wrong["id"], _other(_expert(wrong["id"]))).status_code == 201
    unsure = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, unsure["id"], "anger").status_code == 201
    assert _change(api_client, campaign, unsure["id"], "cant_tell").status_code == 200

    me = api_client.get(f"/api/campaigns/{campaign.pk}/me/").json()
    assert (me["answered"], me["remaining"], me["scored"], me["cant_tell"], me["changed"]) == (5, 11, 3, 1, 1)
    assert me["warmup"] == {"done": 2, "total": 2}
    assert me["agreement"] == 0.5  # 1 of the 2 labelled scored answers

    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/progress/").content.decode()
    assert '<dd id="answered">5 of 16</dd>' in page and '<dd id="remaining">11</dd>' in page
    assert (
        "50.0% (1 of 2; &quot;can&#x27;t tell&quot; left out)" in page
        or '50.0% (1 of 2; "can\'t tell" left out)' in page
    )


def test_no_agreement_without_feedback_and_outsiders_get_404(api_client, corpus):
    campaign = campaign_create(corpus=corpus, name="quiet", created_by=None, warmup_per_class=0, feedback=False)
    assessor = make_user("assessor")
    api_client.force_authenticate(assessor)
    item = _next(api_client, campaign)["item"]
    assert _answer(api_client, campaign, item["id"], "anger").status_code == 201
    me = api_client.get(f"/api/campaigns/{campaign.pk}/me/").json()
    assert me["scored"] == 1 and me["agreement"] is None
    page = _signed_in(assessor).get(f"/campaigns/{campaign.pk}/progress/").content.decode()
    assert "Agreement with the experts" not in page

    api_client.force_authenticate(make_user("none"))
    assert api_client.get(f"/api/campaigns/{campaign.pk}/me/").status_code == 404
    assert _signed_in(make_user("none")).get(f"/campaigns/{campaign.pk}/progress/").status_code == 404
    api_client.force_authenticate(make_user("researcher"))
    assert api_client.get(f"/api/campaigns/{campaign.pk}/me/").status_code == 403
