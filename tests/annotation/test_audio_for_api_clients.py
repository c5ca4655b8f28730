"""Issue 12, item 6: a token-authenticated API client can fetch the audio_url the API hands it,
with Range requests answered 206, as the browser (session) can."""

from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.services.campaigns import campaign_create
from tests.factories import make_corpus, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed_out(tmp_path: Path):
    """(token client of an assessor, the audio_url GET .../next/ gave them, campaign)."""
    corpus = make_corpus(tmp_path / "tiny", name="tiny", seconds=0.25)
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('assessor')).key}")
    response = client.get(f"/api/campaigns/{campaign.pk}/next/")
    assert response.status_code == 200
    return client, response.json()["item"]["audio_url"], campaign


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_token_client_fetches_the_audio_it_was_handed(handed_out):
    client, url, _ = handed_out
    response = client.get(url)
    assert response.status_code == 200, response.get("Location")
    whole = _body(response)
    assert whole[:4] == b"RIFF" and response["Content-Type"] == "audio/wav"
    assert response["Cache-Control"].startswith("private")
    ranged = client.get(url, HTTP_RANGE="bytes=10-49")
    assert ranged.status_code == 206
    assert ranged["Content-Range"] == f"bytes 10-49/{len(whole)}"
    assert _body(ranged) == whole[10:50]


def test_a_bad_token_gets_the_api_401_not_the_login_page(handed_out):
    _, url, _ = handed_out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get(url)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert "Invalid token" in response.json()["detail"]


def test_a_token_does_not_open_another_assessors_item(handed_out):
    _, url, _ = handed_out
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=make_user('assessor')).key}")
    assert client.get(url).status_code == 403


def test_without_credentials_the_browser_is_sent_to_sign_in(handed_out):
    _, url, _ = handed_out
    response = APIClient().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
