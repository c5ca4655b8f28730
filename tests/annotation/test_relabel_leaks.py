"""Nothing gives the answer away: before an answer is recorded, no response an assessor's browser
receives (page, script, API, audio URL, audio headers) carries the item's expert label or the
utterance's original name (which encodes the label here, as EmoDB's and RAVDESS's names do)."""

import json
import re
from pathlib import Path

import pytest
from django.test import Client

from annotation.models import CampaignItem, Utterance
from annotation.services.campaigns import campaign_create
from tests.factories import confirm_instructions, make_corpus, make_user

pytestmark = pytest.mark.django_db

CLASSES = ("anger", "neutral")


@pytest.fixture
def corpus(tmp_path: Path):
    # Names like "s1_anger_0": a leak of the name is a leak of the label.
    return make_corpus(tmp_path / "tiny", name="tiny", classes=CLASSES, seconds=0.1)


def _secrets_of_corpus() -> list[str]:
    secrets = []
    for utterance in Utterance.objects.all():
        secrets += [utterance.name, str(utterance.public_id), utterance.public_id.hex, Path(utterance.audio_path).name]
    return secrets


def _assert_no_secret(text: str, secrets: list[str], where: str) -> None:
    lowered = text.lower()
    for secret in secrets:
        assert secret.lower() not in lowered, f"{secret!r} leaked in {where}"


def _assert_no_label(text: str, where: str) -> None:
    for label in CLASSES:
        assert label not in text.lower(), f"label {label!r} leaked in {where}"


def _page_without_token(html: str) -> str:
    return re.sub(r'name="csrf(middleware)?-?token" (content|value)="[^"]+"', "TOKEN", html)


@pytest.mark.parametrize("feedback", [True, False])
def test_no_response_before_an_answer_gives_the_label_away(corpus, feedback):
    campaign = campaign_create(corpus=corpus, name="c", created_by=None, feedback=feedback)
    secrets = _secrets_of_corpus()
    client = Client()
    assessor = make_user("assessor", username="assessor-x")
    confirm_instructions(campaign, assessor)
    client.force_login(assessor)

    script = b"".join(client.get("/static/js/trial.js").streaming_content).decode()
    assert "decodeAudioData" in script  # it is the trial script
    _assert_no_label(script, "trial.js")
    _assert_no_secret(script, secrets, "trial.js")

    first_page = None
    labels_seen = set()
    while True:
        # The pages an assessor sees between answers.
        for url in ("/", "/campaigns/", f"/campaigns/{campaign.pk}/finished/"):
            html = client.get(url).content.decode()
            _assert_no_secret(html, secrets, url)
        page = _page_without_token(client.get(f"/campaigns/{campaign.pk}/label/").content.decode())
        _assert_no_secret(page, secrets, "trial page")
        # The page is the same whatever the next item is: it cannot carry the item's label.
        first_page = first_page or page
        assert page == first_page

        response = client.get(f"/api/campaigns/{campaign.pk}/next/")
        data = response.json()
        _assert_no_secret(response.content.decode(), secrets, "next")
        assert data["classes"] == list(CLASSES)
        without_classes = json.dumps({k: v for k, v in data.items() if k != "classes"})
        _assert_no_label(without_classes, "next (outside the class list)")
        if data["item"] is None:
            break
        item = CampaignItem.objects.select_related("utterance").get(public_id=data["item"]["id"])
        labels_seen.add(item.utterance.label)
        assert data["item"]["id"] != str(item.utterance.public_id)

        for headers in ({}, {"HTTP_RANGE": "bytes=0-99"}):
            audio = client.get(data["item"]["audio_url"], **headers)
            assert audio.status_code in (200, 206)
            header_text = " ".join(f"{k}: {v}" for k, v in audio.headers.items())
            _assert_no_label(header_text, "audio headers")
            _assert_no_secret(header_text, secrets, "audio headers")
            assert audio["Content-Disposition"] == 'inline; filename="item.wav"'

        # A refused answer says nothing about the item either.
        refused = client.post(
            f"/api/campaigns/{campaign.pk}/answers/",
            {"item": data["item"]["id"], "label": "joy", "response_ms": 1500, "replays": 0},
            content_type="application/json",
        )
        assert refused.status_code == 400
        assert refused.json() == {"detail": "unknown label 'joy'; choose one of: anger, neutral"}

        answered = client.post(
            f"/api/campaigns/{campaign.pk}/answers/",
            {"item": data["item"]["id"], "label": "anger", "response_ms": 1500, "replays": 0},
            content_type="application/json",
        ).json()
        # The label arrives only now, and only as feedback.
        shows = feedback or data["item"]["phase"] == "warmup"
        assert ("expert_label" in answered) == shows
        if shows:
            assert answered["expert_label"] == item.utterance.label
    assert labels_seen == set(CLASSES)


def test_item_ids_differ_between_campaigns_and_from_the_utterance(corpus):
    first = campaign_create(corpus=corpus, name="one", created_by=None)
    second = campaign_create(corpus=corpus, name="two", created_by=None)
    ids_first = {item.utterance_id: item.public_id for item in first.items.all()}
    ids_second = {item.utterance_id: item.public_id for item in second.items.all()}
    assert set(ids_first) == set(ids_second)
    utterance_ids = set(Utterance.objects.values_list("public_id", flat=True))
    for utterance_id, public_id in ids_first.items():
        assert public_id != ids_second[utterance_id]
        assert public_id not in utterance_ids
