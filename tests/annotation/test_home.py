from pathlib import Path

import pytest

from tests.factories import make_corpus


@pytest.mark.django_db
def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_home_lists_corpora_with_counts_for_researchers(client, researcher, tmp_path: Path):
    make_corpus(tmp_path / "tiny", name="tiny", speakers=("s1", "s2"), per_speaker_class=1)
    client.force_login(researcher)
    page = client.get("/").content.decode()
    assert "tiny" in page and "4 utterances" in page
    assert "<th>anger</th><td>2</td>" in page and "<th>s1</th><td>2</td>" in page


@pytest.mark.django_db
def test_home_shows_no_corpus_contents_to_assessors(client, assessor, tmp_path: Path):
    make_corpus(tmp_path / "tiny", name="tiny", speakers=("s1",), per_speaker_class=1)
    client.force_login(assessor)
    page = client.get("/").content.decode()
    assert "s1_anger_0" not in page and "utterances;" not in page
