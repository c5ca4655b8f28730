"""The /timeline/ page through Django's test client: who may see it, the form (CSRF included),
the result (figure, table), and the errors shown for bad uploads."""

import pytest
from django.test import Client
from django.urls import reverse

from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import audio_bytes, job_with_ctc_model, small_corpus, tiny_ctc_model, upload

URL = "/timeline/"


@pytest.fixture(scope="module")
def model():
    return tiny_ctc_model()


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    ctc_model_cache_clear()
    yield
    ctc_model_cache_clear()


@pytest.fixture
def job(db, media_root, tmp_path, model):
    return job_with_ctc_model(small_corpus(tmp_path), model)


def _client(user, enforce_csrf=False):
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


def test_route_name():
    assert reverse("models_app:timeline") == URL


def test_anonymous_is_sent_to_sign_in_and_assessor_refused(client, assessor, job):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert _client(assessor).get(URL).status_code == 403
    assert _client(assessor).post(URL, {"audio": upload(audio_bytes(1.0))}).status_code == 403


def test_researcher_sees_the_form_with_the_jobs_to_choose(researcher, job):
    response = _client(researcher).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html and "csrfmiddlewaretoken" in html
    assert f'<option value="{job.pk}">Job {job.pk}: tiny, preset fast' in html
    assert "No trained CTC model yet" not in html


def test_without_a_ctc_model_the_page_says_how_to_train_one(researcher, db):
    html = _client(researcher).get(URL).content.decode()
    assert "No trained CTC model yet" in html and "Start a training job with the CTC method" in html
    assert 'id="timeline-submit" disabled' in html


def test_upload_shows_the_figure_and_the_segments(researcher, job):
    response = _client(researcher).post(
        URL, {"audio": upload(audio_bytes(3.0), name="interview <1>.wav"), "job": job.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "interview &lt;1&gt;.wav" in html and "interview <1>" not in html  # the file name is escaped
    figures = html.count("<svg") - html.count('<svg class="swatch"')  # the legend swatches are tiny SVGs
    assert figures == 1 and "waveform" in html and "probability" in html
    result = response.context["result"]
    assert result.job_id == job.pk
    rows = response.context["segments"]
    assert len(rows) == len(result.timeline.segments) >= 1
    for row in rows:
        assert f'<td class="num">{row["segment"].start_s:.2f}</td>' in html
    assert f"model of job {job.pk}" in html


def test_the_form_needs_its_csrf_token(researcher, job):
    client = _client(researcher, enforce_csrf=True)
    assert client.post(URL, {"audio": upload(audio_bytes(1.0))}).status_code == 403
    page = client.get(URL)
    token = page.context["csrf_token"]
    response = client.post(URL, {"audio": upload(audio_bytes(1.0)), "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 200 and response.context["result"] is not None


@pytest.mark.parametrize(
    "content, name, status, message",
    [
        (b"plain text", "notes.wav", 400, "not audio that can be read"),
        (b"", "empty.wav", 400, "The submitted file is empty"),
    ],
    ids=["not audio", "empty"],
)
def test_bad_uploads_show_the_reason(researcher, job, content, name, status, message):
    response = _client(researcher).post(URL, {"audio": upload(content, name)})
    assert response.status_code == status
    assert message in response.content.decode()


def test_too_large_and_too_long(researcher, job, settings):
    settings.EMOLAB_PREDICT_MAX_SECONDS = 2
    response = _client(researcher).post(URL, {"audio": upload(audio_bytes(3.0))})
    assert response.status_code == 400 and "the limit is 2 s" in response.content.decode()
    settings.EMOLAB_PREDICT_MAX_BYTES = 20_000
    response = _client(researcher).post(URL, {"audio": upload(audio_bytes(3.0))})
    assert response.status_code == 413 and "the limit is 20 kB" in response.content.decode()
