"""POST /api/predict/ hands the work to a Celery task (issue 12, item 1): 202 with a Location to
poll, GET /api/predictions/{id}/ with status and progress, private to the owner, at most
EMOLAB_PREDICT_MAX_ACTIVE at once (429 with Retry-After), 503 when the queue is away, deleted after
EMOLAB_PREDICT_KEEP_HOURS; the task's time limits and the real worker's answer."""

import os
import time
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils import timezone

from models_app.models import Prediction
from models_app.services import predictions as prediction_services
from models_app.services.timeline import ctc_model_cache_clear
from models_app.tasks.predictions import clean_up_predictions, run_prediction
from tests.broker import broker_down
from tests.factories import audio_bytes, job_with_ctc_model, make_user, small_corpus, tiny_ctc_model, upload
from tests.predict_abuse import real_wav
from tests.worker import wait_until

URL = "/api/predict/"


@pytest.fixture(scope="module")
def model():
    return tiny_ctc_model()


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    ctc_model_cache_clear()
    yield
    ctc_model_cache_clear()


@pytest.fixture
def job(db, media_root, tmp_path, model, settings):
    settings.EMOLAB_PREDICT_WAIT_S = 0  # no worker here: answer 202 at once
    return job_with_ctc_model(small_corpus(tmp_path), model)


def _post(api_client, user, content, name="recording.wav"):
    api_client.force_authenticate(user)
    return api_client.post(URL, {"audio": upload(content, name)}, format="multipart")


def _stored_uploads(media_root: Path) -> list[Path]:
    folder = media_root / prediction_services.UPLOAD_FOLDER
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_202_with_a_location_then_the_status_for_the_owner_only(api_client, researcher, job, media_root):
    response = _post(api_client, researcher, audio_bytes(2.0, rate=44100, channels=2), name="call.wav")
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/predictions/{body['id']}/"
    assert body["status"] == "queued" and body["progress"] == 0.0 and body["error"] == ""
    assert body["file"] == {"name": "call.wav", "format": "wav", "sample_rate": 44100, "channels": 2}
    assert len(_stored_uploads(media_root)) == 1  # kept for the worker

    status = api_client.get(response["Location"])
    assert status.status_code == 200 and status.json() == body

    other = make_user("researcher", username="other-researcher")
    api_client.force_authenticate(other)
    missing = api_client.get(response["Location"])
    assert missing.status_code == 404 and "no prediction" in missing.json()["detail"]
    assert api_client.get("/api/predictions/999999/").json() == {"detail": "There is no prediction 999999 of yours."}
    api_client.force_authenticate(make_user("admin", username="some-admin"))
    assert api_client.get(response["Location"]).status_code == 404  # private even to admins
    api_client.force_authenticate(make_user("assessor", username="an-assessor"))
    assert api_client.get(response["Location"]).status_code == 403
    api_client.force_authenticate(None)
    assert api_client.get(response["Location"]).status_code == 401


def test_more_than_max_active_is_429_with_retry_after_and_stores_nothing(api_client, researcher, job, media_root):
    for _ in range(2):
        assert _post(api_client, researcher, audio_bytes(1.0)).status_code == 202
    refused = _post(api_client, researcher, audio_bytes(1.0))
    assert refused.status_code == 429
    assert refused["Retry-After"] == str(prediction_services.RETRY_AFTER_S)
    assert "at most 2 at once (EMOLAB_PREDICT_MAX_ACTIVE)" in refused.json()["detail"]
    assert len(_stored_uploads(media_root)) == 2 and Prediction.objects.count() == 2
    # Another user is not held up by this one; a finished prediction frees a place.
    assert _post(api_client, make_user("researcher", username="r2"), audio_bytes(1.0)).status_code == 202
    Prediction.objects.filter(owner=researcher).update(status=Prediction.Status.SUCCEEDED)
    assert _post(api_client, researcher, audio_bytes(1.0)).status_code == 202


def test_a_long_recording_is_not_waited_for(api_client, researcher, job, settings):
    """Waiting holds a web worker; a recording too long to be done within the wait is answered at once."""
    settings.EMOLAB_PREDICT_WAIT_S = 30
    content = real_wav(prediction_services.WAIT_FOR_RECORDINGS_UP_TO_S + 1, rate=8000)
    response = _post(api_client, researcher, content)
    assert response.status_code == 202


def test_only_max_waiting_requests_wait_at_once(api_client, researcher, job, settings):
    """Each waiting request holds a web worker: beyond EMOLAB_PREDICT_MAX_WAITING, answer at once."""
    settings.EMOLAB_PREDICT_WAIT_S = 1.0
    started = time.perf_counter()
    assert _post(api_client, researcher, audio_bytes(1.0)).status_code == 202  # no worker: waited, then 202
    assert time.perf_counter() - started >= 1.0
    settings.EMOLAB_PREDICT_WAIT_S = 30
    with prediction_services.prediction_wait_slot() as taken:  # another request is waiting
        assert taken
        started = time.perf_counter()
        assert _post(api_client, researcher, audio_bytes(1.0)).status_code == 202
        assert time.perf_counter() - started < 5
    assert cache.get("emolab:predict-wait:0") is None  # the place is free again


def test_an_unreachable_queue_is_503_and_the_prediction_failed(api_client, researcher, job, media_root):
    """A real refusal: the producer points at a closed port (tests/broker.py)."""
    started = time.perf_counter()
    with broker_down():
        response = _post(api_client, researcher, audio_bytes(1.0))
    assert time.perf_counter() - started < 10, "the send fails fast"
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["detail"] == (
        "The recording was not processed: the task queue is unreachable; try again in a few minutes."
    )
    prediction = Prediction.objects.get()
    assert prediction.status == "failed" and prediction.error_kind == "queue"
    assert _stored_uploads(media_root) == []  # the upload will not be read: removed


def test_the_run_in_process_records_the_result_and_removes_the_upload(api_client, researcher, job, media_root):
    prediction_id = _post(api_client, researcher, audio_bytes(3.0)).json()["id"]
    prediction_services.prediction_run(prediction_id=prediction_id)
    prediction = Prediction.objects.get(pk=prediction_id)
    assert prediction.status == "succeeded" and prediction.progress == 1.0 and prediction.finished_at
    assert prediction.upload == "" and _stored_uploads(media_root) == []
    assert "<svg" in prediction.figure_svg
    body = api_client.get(f"/api/predictions/{prediction_id}/").json()
    assert body["status"] == "succeeded" and body["job"] == job.pk
    assert len(body["probabilities"]) == 29 and body["duration"] == pytest.approx(3.0)
    assert body["file"] == {"name": "recording.wav", "format": "wav", "sample_rate": 16000, "channels": 1}
    prediction_services.prediction_run(prediction_id=prediction_id)  # a redelivered task changes nothing
    assert Prediction.objects.get(pk=prediction_id).result == prediction.result


def test_a_recording_that_does_not_decode_fails_with_the_reason(api_client, researcher, job, media_root):
    data = bytearray(audio_bytes(3.0, file_format="FLAC"))
    data[len(data) // 2 : len(data) // 2 + 400] = bytes(400)
    prediction_id = _post(api_client, researcher, bytes(data), name="broken.flac").json()["id"]
    prediction_services.prediction_run(prediction_id=prediction_id)
    body = api_client.get(f"/api/predictions/{prediction_id}/").json()
    assert body["status"] == "failed" and "damaged" in body["error"] and "segments" not in body
    assert _stored_uploads(media_root) == []


def test_the_task_has_soft_and_hard_time_limits_and_records_the_soft_one(api_client, researcher, job, media_root):
    soft = django_settings.EMOLAB_PREDICT_TIME_LIMIT_S
    assert (run_prediction.soft_time_limit, run_prediction.time_limit) == (soft, soft + 60)
    prediction_id = _post(api_client, researcher, audio_bytes(1.0)).json()["id"]
    # Celery raises SoftTimeLimitExceeded inside the running task when the soft limit passes.
    import torch

    threads_before = torch.get_num_threads()
    try:
        with mock.patch.object(prediction_services, "prediction_run", side_effect=SoftTimeLimitExceeded()):
            run_prediction(prediction_id)
        assert torch.get_num_threads() == django_settings.EMOLAB_PREDICT_TORCH_THREADS == 1
    finally:
        torch.set_num_threads(threads_before)
    prediction = Prediction.objects.get(pk=prediction_id)
    assert prediction.status == "failed" and prediction.error_kind == "time_limit"
    assert f"longer than the time limit ({soft} s" in prediction.error
    assert _stored_uploads(media_root) == []


# --- deletion after EMOLAB_PREDICT_KEEP_HOURS -----------------------------------------------------


def test_clean_up_deletes_old_predictions_their_uploads_and_orphans(api_client, researcher, job, media_root, settings):
    settings.EMOLAB_PREDICT_KEEP_HOURS = 24
    old_id = _post(api_client, researcher, audio_bytes(1.0)).json()["id"]
    recent_id = _post(api_client, researcher, audio_bytes(1.0)).json()["id"]
    now = timezone.now()
    Prediction.objects.filter(pk=old_id).update(created_at=now - timedelta(hours=25))
    Prediction.objects.filter(pk=recent_id).update(created_at=now - timedelta(hours=23))
    old_upload = media_root / Prediction.objects.get(pk=old_id).upload
    orphan = media_root / prediction_services.UPLOAD_FOLDER / "left-by-a-dead-request.upload"
    orphan.write_bytes(b"x")
    young_orphan = media_root / prediction_services.UPLOAD_FOLDER / "being-written.upload"
    young_orphan.write_bytes(b"x")
    day_ago = (now - timedelta(hours=25)).timestamp()
    os.utime(orphan, (day_ago, day_ago))

    counts = prediction_services.predictions_clean_up(now=now)

    assert counts == {"deleted": 1, "failed_stuck": 0, "orphan_uploads": 1}
    assert list(Prediction.objects.values_list("pk", flat=True)) == [recent_id]
    assert not old_upload.exists() and not orphan.exists() and young_orphan.exists()
    assert (media_root / Prediction.objects.get(pk=recent_id).upload).exists()


def test_clean_up_fails_predictions_whose_worker_vanished(api_client, researcher, job, media_root):
    prediction_id = _post(api_client, researcher, audio_bytes(1.0)).json()["id"]
    hard = prediction_services.prediction_time_limits()["time_limit"]
    Prediction.objects.filter(pk=prediction_id).update(
        status="running", started_at=timezone.now() - timedelta(seconds=hard + 61)
    )
    assert clean_up_predictions()["failed_stuck"] == 1  # the periodic task calls the service
    prediction = Prediction.objects.get(pk=prediction_id)
    assert prediction.status == "failed" and f"time limit {hard} s" in prediction.error
    assert _stored_uploads(media_root) == []


def test_the_clean_up_is_in_the_beat_schedule():
    from emolab.celery import app

    entry = django_settings.CELERY_BEAT_SCHEDULE["predictions-clean-up"]
    assert entry["task"] == prediction_services.CLEAN_UP_TASK == clean_up_predictions.name
    assert entry["schedule"] <= 3600  # deletion is at most an hour late
    assert app.conf.beat_schedule["predictions-clean-up"] == entry


# --- a real worker --------------------------------------------------------------------------------


@pytest.mark.worker
def test_a_real_worker_draws_the_timeline_of_a_202_and_the_wait_gives_200(
    api_client, researcher, worker_media, tmp_path, model, settings
):
    job = job_with_ctc_model(small_corpus(tmp_path), model)
    settings.EMOLAB_PREDICT_WAIT_S = 0
    accepted = _post(api_client, researcher, audio_bytes(3.0))
    assert accepted.status_code == 202
    location = accepted["Location"]

    def finished():
        body = api_client.get(location).json()
        return body if body["status"] in ("succeeded", "failed") else None

    body = wait_until(finished, timeout=120, message="the worker to finish the prediction")
    assert body["status"] == "succeeded", body
    assert body["progress"] == 1.0 and body["job"] == job.pk

    settings.EMOLAB_PREDICT_WAIT_S = 60
    direct = _post(api_client, researcher, audio_bytes(3.0))
    assert direct.status_code == 200, direct.content
    assert direct["Content-Location"].startswith("/api/predictions/")
    # The poll's body is the 200 body plus the status fields.
    assert {key: body[key] for key in direct.json()} == direct.json()
    assert _stored_uploads(worker_media) == []
