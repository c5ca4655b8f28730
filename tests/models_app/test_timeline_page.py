"""The /timeline/ pages through Django's test client: who may see them, the form (CSRF included),
the progress page, the result (figure, table) once the worker's service has run, and the errors
shown for bad uploads."""

import pytest
from django.test import Client
from django.urls import reverse

from models_app.models import Prediction
from models_app.services.predictions import prediction_run
from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import audio_bytes, job_with_ctc_model, make_user, small_corpus, tiny_ctc_model, upload
from tests.predict_abuse import ABUSE_FILES

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


def test_upload_goes_to_its_progress_page_then_shows_the_figure_and_the_segments(researcher, job, media_root):
    client = _client(researcher)
    response = client.post(URL, {"audio": upload(audio_bytes(3.0), name="interview <1>.wav"), "job": job.pk})
    assert response.status_code == 302
    prediction = Prediction.objects.get()
    assert response["Location"] == f"/timeline/{prediction.pk}/"

    waiting = client.get(response["Location"]).content.decode()  # no worker here: still queued
    assert 'id="timeline-progress"' in waiting and f'data-api-url="/api/predictions/{prediction.pk}/"' in waiting
    assert "interview &lt;1&gt;.wav" in waiting and "interview <1>" not in waiting  # the file name is escaped
    assert 'id="timeline-result"' not in waiting and 'data-width="0"' in waiting

    prediction_run(prediction_id=prediction.pk)  # what the worker does
    response = client.get(f"/timeline/{prediction.pk}/")
    html = response.content.decode()
    assert 'id="timeline-progress"' not in html and "interview &lt;1&gt;.wav" in html
    figures = html.count("<svg") - html.count('<svg class="swatch"')  # the legend swatches are tiny SVGs
    assert figures == 1 and "waveform" in html and "probability" in html
    result = response.context["result"]
    assert result["job"] == job.pk
    rows = response.context["segments"]
    assert len(rows) == len(result["segments"]) >= 1
    for row in rows:
        assert f'<td class="num">{row["segment"]["start"]:.2f}</td>' in html
    assert f"model of job {job.pk}" in html


def test_a_prediction_page_is_its_owners_only(researcher, job, media_root, assessor):
    response = _client(researcher).post(URL, {"audio": upload(audio_bytes(1.0))})
    other = make_user("researcher", username="another-researcher")
    assert _client(other).get(response["Location"]).status_code == 404
    assert _client(make_user("admin", username="an-admin")).get(response["Location"]).status_code == 404
    assert _client(assessor).get(response["Location"]).status_code == 403
    assert _client(researcher).get(response["Location"]).status_code == 200


def test_the_form_page_lists_the_users_own_recent_timelines(researcher, job, media_root):
    _client(researcher).post(URL, {"audio": upload(audio_bytes(1.0), name="mine.wav")})
    other = make_user("researcher", username="someone-else")
    _client(other).post(URL, {"audio": upload(audio_bytes(1.0), name="theirs.wav")})
    html = _client(researcher).get(URL).content.decode()
    mine = Prediction.objects.get(owner=researcher)
    assert 'id="recent-timelines"' in html and f'href="/timeline/{mine.pk}/">mine.wav</a>' in html
    assert "theirs.wav" not in html


def test_a_failed_prediction_shows_the_reason(researcher, job, media_root):
    data = bytearray(audio_bytes(3.0, file_format="FLAC"))
    data[len(data) // 2 : len(data) // 2 + 400] = bytes(400)
    response = _client(researcher).post(URL, {"audio": upload(bytes(data), name="broken.flac")})
    prediction_run(prediction_id=Prediction.objects.get().pk)
    html = _client(researcher).get(response["Location"]).content.decode()
    assert 'id="timeline-error"' in html and "damaged" in html


def test_the_page_refuses_abuse_files_at_once(researcher, job, media_root):
    for name, (make, fragment) in ABUSE_FILES.items():
        response = _client(researcher).post(URL, {"audio": upload(make(), "abuse.wav")})
        assert response.status_code == 400, name
        assert fragment in response.content.decode(), name
    assert not Prediction.objects.exists()
    assert not (media_root / "predictions").exists() or not any((media_root / "predictions").iterdir())


def test_too_many_at_once_is_429_with_retry_after(researcher, job, media_root, settings):
    settings.EMOLAB_PREDICT_MAX_ACTIVE = 1
    assert _client(researcher).post(URL, {"audio": upload(audio_bytes(1.0))}).status_code == 302
    response = _client(researcher).post(URL, {"audio": upload(audio_bytes(1.0))})
    assert response.status_code == 429 and response["Retry-After"] == "30"
    assert "at most 1 at once" in response.content.decode()


def test_the_form_needs_its_csrf_token(researcher, job):
    client = _client(researcher, enforce_csrf=True)
    assert client.post(URL, {"audio": upload(audio_bytes(1.0))}).status_code == 403
    page = client.get(URL)
    token = page.context["csrf_token"]
    response = client.post(URL, {"audio": upload(audio_bytes(1.0)), "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302 and response["Location"].startswith("/timeline/")


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
