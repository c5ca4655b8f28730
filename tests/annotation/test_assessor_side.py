"""The assessor's side of a listening test (issue 15): instructions, "can't tell", minimum listening,
undo, breaks and the assessor's own progress; the server-side checks behind each."""

from pathlib import Path

import pytest
from django.test import Client

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
