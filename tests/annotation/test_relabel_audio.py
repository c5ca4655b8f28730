"""Audio of campaign items: served with Range support (seeking works), the right type, a name that
says nothing, privately, and only to users with access to the item."""

from pathlib import Path

import pytest
from django.test import Client

from annotation.audio import UnsatisfiableRange, audio_response, parse_range
from annotation.models import CampaignItem
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import assignment_next
from tests.factories import make_corpus, make_user, tone, write_wav

pytestmark = pytest.mark.django_db


@pytest.fixture
def corpus(tmp_path: Path):
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.25)


@pytest.fixture
def served(corpus):
    """(client signed in as the assessor, audio URL of their reserved item, the file's bytes)."""
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    assessor = make_user("assessor")
    handed = assignment_next(campaign=campaign, assessor=assessor).item
    item = CampaignItem.objects.select_related("utterance").get(pk=handed.id)
    client = Client()
    client.force_login(assessor)
    url = f"/campaigns/{campaign.pk}/audio/{item.public_id}/"
    return client, url, item.utterance.audio_file.read_bytes(), campaign, item


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize(
    "header, expected",
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-50", (950, 999)),
        ("bytes=-5000", (0, 999)),  # a suffix longer than the file: the whole file
        ("bytes=990-2000", (990, 999)),  # the end is clamped to the last byte
        ("bytes= 5-9", (5, 9)),
        ("", None),
        ("bytes=abc", None),
        ("bytes=0-1,5-9", None),  # multi-range: served whole
        ("bytes=9-5", None),  # last before first: ignored
        ("items=0-5", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(UnsatisfiableRange):
        parse_range(header, 1000)


def test_whole_file_with_headers_for_seeking(served):
    client, url, data, *_ = served
    response = client.get(url)
    assert response.status_code == 200
    assert _body(response) == data
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Length"] == str(len(data))
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Disposition"] == 'inline; filename="item.wav"'
    assert response["Cache-Control"].startswith("private")
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "header, first, last",
    [("bytes=0-99", 0, 99), ("bytes=44-", 44, None), ("bytes=-10", -10, None), ("bytes=0-", 0, None)],
)
def test_range_requests_get_206_with_the_right_bytes(served, header, first, last):
    client, url, data, *_ = served
    size = len(data)
    response = client.get(url, HTTP_RANGE=header)
    assert response.status_code == 206
    start = first if first >= 0 else size + first
    end = size - 1 if last is None else last
    assert _body(response) == data[start : end + 1]
    assert response["Content-Range"] == f"bytes {start}-{end}/{size}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Content-Type"] == "audio/wav"
    assert response["Accept-Ranges"] == "bytes"


def test_a_range_past_the_end_gets_416(served):
    client, url, data, *_ = served
    response = client.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(data)}"


def test_content_types_follow_the_file(tmp_path: Path):
    flac = write_wav(tmp_path / "x.flac", tone(0.1))
    response = audio_response(path=flac, range_header=None, download_name="item.flac")
    assert response["Content-Type"] == "audio/flac"
    assert response["Content-Disposition"] == 'inline; filename="item.flac"'
    response.close()


def test_who_may_hear_an_item(served, researcher, admin_user):
    _, url, data, campaign, item = served
    anonymous = Client()
    response = anonymous.get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    for user, status in (
        (make_user("assessor"), 403),  # a campaign assessor, but the item was never handed to them
        (make_user("none"), 404),  # not part of the campaign: as if it did not exist
        (researcher, 200),
        (admin_user, 200),
    ):
        client = Client()
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


def test_a_named_campaign_refuses_assessors_it_does_not_name(corpus):
    alice = make_user("assessor", username="alice")
    campaign = campaign_create(corpus=corpus, name="named", created_by=None, assessors=["alice"])
    item = assignment_next(campaign=campaign, assessor=alice).item
    url = f"/campaigns/{campaign.pk}/audio/{item.public_id}/"
    client = Client()
    client.force_login(make_user("assessor"))  # in the assessor group, but not named
    assert client.get(url).status_code == 404  # as for a campaign that does not exist
    client.force_login(alice)
    assert client.get(url).status_code == 200


def test_an_answered_item_stays_audible_to_its_assessor(served):
    client, url, data, campaign, item = served
    response = client.post(
        f"/api/campaigns/{campaign.pk}/answers/",
        {"item": str(item.public_id), "label": "anger", "response_ms": 1500, "replays": 0},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert _body(client.get(url)) == data


def test_unknown_items_and_items_of_other_campaigns_are_404(served, corpus):
    client, url, data, campaign, item = served
    other = campaign_create(corpus=corpus, name="other", created_by=None)
    assert client.get(f"/campaigns/{other.pk}/audio/{item.public_id}/").status_code == 404
    assert client.get(f"/campaigns/{campaign.pk}/audio/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_a_path_leaving_the_corpus_folder_is_refused(served, researcher, tmp_path):
    _, url, data, campaign, item = served
    secret = tmp_path / "outside.wav"
    secret.write_bytes(data)
    item.utterance.audio_path = "../outside.wav"
    item.utterance.save()
    client = Client()
    client.force_login(researcher)
    assert client.get(url).status_code == 404


def test_a_missing_file_is_404(served):
    client, url, data, campaign, item = served
    item.utterance.audio_file.unlink()
    assert client.get(url).status_code == 404
    assert item.assignments.filter(answered_at__isnull=True).count() == 1
