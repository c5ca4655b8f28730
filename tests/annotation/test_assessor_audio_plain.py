"""Issue 12, item 5: assessors hear a plain 16-bit PCM WAV re-encoding of the corpus file, with no
metadata chunk, so no tag of the original (a title, a comment naming the emotion, the original
file name) reaches the browser; Range requests still answer 206."""

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.test import Client

from annotation.models import CampaignItem
from annotation.services.campaigns import campaign_create
from annotation.services.judgments import assignment_next
from tests.factories import make_corpus, make_user, tone

pytestmark = pytest.mark.django_db

SECRETS = ("Ses01F_impro01_F000", "expert label anger", "secret-artist")


@pytest.fixture
def item_and_client(tmp_path: Path, media_root):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", seconds=0.25)
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    assessor = make_user("assessor")
    handed = assignment_next(campaign=campaign, assessor=assessor).item
    item = CampaignItem.objects.select_related("utterance").get(pk=handed.id)
    client = Client()
    client.force_login(assessor)
    return item, client, f"/campaigns/{campaign.pk}/audio/{item.public_id}/"


def _write_tagged(path: Path, signal, sample_rate: int, subtype: str, format: str) -> None:
    with soundfile.SoundFile(str(path), "w", samplerate=sample_rate, channels=signal.shape[1] if signal.ndim > 1 else 1,
                             subtype=subtype, format=format) as f:  # fmt: skip
        f.title, f.comment, f.artist = SECRETS
        f.write(signal)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    chunks, offset = [], 12
    while offset < len(data):
        name, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        chunks.append((name, data[offset + 8 : offset + 8 + size]))
        offset += 8 + size + (size & 1)
    return chunks


def _served(client, url) -> bytes:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"] == 'inline; filename="item.wav"'
    return b"".join(response.streaming_content) if response.streaming else response.content


def _assert_plain_pcm16(data: bytes, sample_rate: int, channels: int) -> np.ndarray:
    chunks = _chunks(data)
    assert [name for name, _ in chunks] == [b"fmt ", b"data"]
    audio_format, n_channels, rate, _, block_align, bits = struct.unpack("<HHIIHH", chunks[0][1])
    assert (audio_format, n_channels, rate, bits, block_align) == (1, channels, sample_rate, 16, 2 * channels)
    for secret in SECRETS:
        assert secret.encode() not in data
    return np.frombuffer(chunks[1][1], dtype="<i2").reshape(-1, channels)


@pytest.mark.parametrize(
    "suffix,format,subtype",
    [(".wav", "WAV", "PCM_16"), (".flac", "FLAC", "PCM_16"), (".wav", "WAV", "PCM_24"), (".wav", "WAV", "FLOAT")],
)
def test_tags_of_the_original_never_reach_the_browser(item_and_client, suffix, format, subtype):
    item, client, url = item_and_client
    utterance = item.utterance
    signal = np.stack([tone(0.3, 220.0, 22050), tone(0.3, 330.0, 22050, seed=1)], axis=1)
    source = utterance.audio_file.with_suffix(suffix)
    _write_tagged(source, signal, 22050, subtype, format)
    original = source.read_bytes()
    assert SECRETS[0].encode() in original  # the source really carries the tags
    utterance.audio_path = source.name
    utterance.save()

    data = _served(client, url)
    samples = _assert_plain_pcm16(data, 22050, 2)
    expected, _ = soundfile.read(str(source), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(samples, expected)

    ranged = client.get(url, HTTP_RANGE="bytes=40-99")
    assert ranged.status_code == 206
    assert ranged["Content-Range"] == f"bytes 40-99/{len(data)}"
    assert b"".join(ranged.streaming_content) == data[40:100]


def test_a_changed_file_is_encoded_again(item_and_client):
    item, client, url = item_and_client
    first = _served(client, url)
    path = item.utterance.audio_file
    soundfile.write(str(path), tone(0.5, 440.0), 16000, subtype="PCM_16")
    second = _served(client, url)
    assert second != first
    assert len(_assert_plain_pcm16(second, 16000, 1)) == 8000


def test_an_undecodable_file_is_404(item_and_client):
    item, client, url = item_and_client
    item.utterance.audio_file.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio at all")
    assert client.get(url).status_code == 404
