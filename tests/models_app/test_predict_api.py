"""POST /api/predict/: the emotion timeline of an uploaded recording, through the real HTTP API,
database and checkpoint files. Permissions per role, every kind of bad input with its status and
message, the choice of model, and nothing left behind on disk."""

import io
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import TWO_CLASSES as CLASSES
from tests.factories import (
    audio_bytes,
    job_with_ctc_model,
    job_without_ctc_model,
    small_corpus,
    tiny_ctc_model,
    tone,
    upload,
)
from tests.predict_abuse import ABUSE_FILES, real_wav

URL = "/api/predict/"


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    return tiny_ctc_model()


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    ctc_model_cache_clear()  # artifact ids repeat between tests' databases
    yield
    ctc_model_cache_clear()


@pytest.fixture
def job(db, media_root, tmp_path, model):
    """A job for the requests answered in the web process (refused before any task is sent)."""
    return job_with_ctc_model(small_corpus(tmp_path), model)


@pytest.fixture
def worker_job(worker_media, tmp_path, model):
    """A job for the requests a real worker answers (the POST waits for it and answers 200)."""
    return job_with_ctc_model(small_corpus(tmp_path), model)


def _post(api_client, user, content=None, name="recording.wav", **fields):
    if user is not None:
        api_client.force_authenticate(user)
    data = dict(fields)
    if content is not None:
        data["audio"] = upload(content, name)
    return api_client.post(URL, data, format="multipart")


# --- the timeline -----------------------------------------------------------------------------


def test_researcher_gets_segments_and_per_frame_probabilities(api_client, researcher, worker_job):
    response = _post(api_client, researcher, audio_bytes(seconds=3.0))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["job"] == worker_job.pk
    assert body["classes"] == CLASSES and body["columns"] == CLASSES + ["none"]
    assert body["frame_step_s"] == 0.1 and body["frame_window_s"] == 0.2
    assert body["duration"] == pytest.approx(3.0)
    # 3 s at 16 kHz: floor((48000 - 3200) / 1600) + 1 = 29 frames, each a distribution over the columns
    assert len(body["probabilities"]) == len(body["scored"]) == 29
    assert all(len(row) == 3 and abs(sum(row) - 1) < 1e-3 for row in body["probabilities"])
    # The edges and the 0.4 s pause are not scored: they say "none" with certainty.
    assert not body["scored"][0] and not body["scored"][-1]
    assert all(
        row == [0.0, 0.0, 1.0] for row, scored in zip(body["probabilities"], body["scored"], strict=True) if not scored
    )
    assert body["segments"], "a tone carries some emotion for the network"
    for segment in body["segments"]:
        assert set(segment) == {"start", "end", "emotion", "confidence"}
        assert 0 <= segment["start"] < segment["end"] <= 3.0
        assert segment["emotion"] in CLASSES and 0 <= segment["confidence"] <= 1
    assert body["file"] == {"name": "recording.wav", "format": "wav", "sample_rate": 16000, "channels": 1}


def test_admin_may_use_it_too_and_stereo_44k_flac_and_ogg_are_read(api_client, admin_user, worker_job):
    for file_format, name in (("FLAC", "call.flac"), ("OGG", "call.ogg")):
        response = _post(
            api_client, admin_user, audio_bytes(2.0, rate=44100, channels=2, file_format=file_format), name=name
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["file"]["sample_rate"] == 44100 and body["file"]["channels"] == 2
        assert body["duration"] == pytest.approx(2.0, abs=1e-3)
        assert len(body["probabilities"]) == 19  # 2 s at 16 kHz after resampling


def test_anonymous_gets_401_and_assessor_403(api_client, assessor, job):
    assert _post(api_client, None, audio_bytes(1.0)).status_code == 401
    response = _post(api_client, assessor, audio_bytes(1.0))
    assert response.status_code == 403
    assert "Researchers and admins only" in response.json()["detail"]


def test_a_chosen_job_and_the_default_latest(api_client, researcher, worker_media, tmp_path, model):
    corpus = small_corpus(tmp_path)
    older = job_with_ctc_model(corpus, model)
    newer = job_with_ctc_model(corpus, tiny_ctc_model(seed=1))
    job_without_ctc_model(corpus)  # newest of all, but no CTC model: never the default
    assert _post(api_client, researcher, audio_bytes(1.0)).json()["job"] == newer.pk
    chosen = _post(api_client, researcher, audio_bytes(1.0), job=older.pk).json()
    assert chosen["job"] == older.pk


# --- bad input --------------------------------------------------------------------------------


def _assert_error(response, status, *fragments):
    assert response.status_code == status, response.content
    detail = response.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, detail


def test_not_audio(api_client, researcher, job):
    _assert_error(
        _post(api_client, researcher, b"Just some text, not a recording.", name="notes.wav"),
        400,
        "not audio",
        "wav, flac or ogg",
    )


def test_empty_file(api_client, researcher, job):
    _assert_error(_post(api_client, researcher, b"", name="empty.wav"), 400, "empty")


def test_no_samples(api_client, researcher, job):
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(0), 16000, format="WAV")
    _assert_error(_post(api_client, researcher, buffer.getvalue()), 400, "no samples")


def test_damaged_flac(api_client, researcher, worker_job):
    data = bytearray(audio_bytes(3.0, file_format="FLAC"))
    data[len(data) // 2 : len(data) // 2 + 400] = bytes(400)
    _assert_error(_post(api_client, researcher, bytes(data), name="broken.flac"), 400, "damaged")


def test_other_audio_formats_are_refused(api_client, researcher, job):
    _assert_error(
        _post(api_client, researcher, audio_bytes(1.0, file_format="AIFF"), name="x.aiff"),
        400,
        "not accepted",
        "wav, flac or ogg",
    )


def test_shorter_than_one_frame(api_client, researcher, job):
    _assert_error(_post(api_client, researcher, real_wav(0.1)), 400, "shorter than one analysis frame")


def test_nan_samples(api_client, researcher, worker_job):
    signal = tone(1.0)
    signal[100] = np.nan
    buffer = io.BytesIO()
    soundfile.write(buffer, signal, 16000, format="WAV", subtype="FLOAT")
    _assert_error(_post(api_client, researcher, buffer.getvalue()), 400, "NaN")


def test_too_large_with_a_small_configured_limit(api_client, researcher, job, settings):
    settings.EMOLAB_PREDICT_MAX_BYTES = 50_000
    content = audio_bytes(3.0)  # 96 kB
    _assert_error(_post(api_client, researcher, content), 413, "limit is 50 kB", "EMOLAB_PREDICT_MAX_BYTES")


def test_too_large_is_refused_before_the_body_is_parsed(api_client, researcher, job, settings):
    # A body that is not even valid multipart: parsing it would answer 400. The 413 shows the
    # Content-Length was checked first, so an oversized upload is never written anywhere.
    settings.EMOLAB_PREDICT_MAX_BYTES = 1000
    api_client.force_authenticate(researcher)
    response = api_client.post(URL, data=b"x" * 2000, content_type="multipart/form-data; boundary=nothing")
    _assert_error(response, 413, "limit is 1 kB")
    settings.EMOLAB_PREDICT_MAX_BYTES = 10_000
    assert (
        api_client.post(URL, data=b"x" * 2000, content_type="multipart/form-data; boundary=nothing").status_code == 400
    )


def test_too_long_with_a_small_configured_limit(api_client, researcher, job, settings):
    settings.EMOLAB_PREDICT_MAX_SECONDS = 2
    _assert_error(
        _post(api_client, researcher, audio_bytes(3.0)),
        400,
        "lasts 3.0 s",
        "limit is 2 s",
        "EMOLAB_PREDICT_MAX_SECONDS",
    )


def test_missing_audio_field(api_client, researcher, job):
    _assert_error(_post(api_client, researcher, None, job=job.pk), 400, "'audio'")


def test_unknown_job(api_client, researcher, job):
    _assert_error(
        _post(api_client, researcher, audio_bytes(1.0), job=job.pk + 1000), 404, f"no training job {job.pk + 1000}"
    )


def test_job_without_ctc_model(api_client, researcher, media_root, tmp_path, db):
    job = job_without_ctc_model(small_corpus(tmp_path), methods=("dummy", "framewise"))
    _assert_error(
        _post(api_client, researcher, audio_bytes(1.0), job=job.pk),
        409,
        f"Job {job.pk} did not train the CTC method",
        "Start a training job with the CTC method",
    )
    running = job_without_ctc_model(small_corpus(tmp_path, "other"), status="running", methods=("ctc",))
    _assert_error(_post(api_client, researcher, audio_bytes(1.0), job=running.pk), 409, "is running")


def test_no_ctc_model_yet_says_how_to_train_one(api_client, researcher, media_root, db):
    _assert_error(
        _post(api_client, researcher, audio_bytes(1.0)),
        409,
        "No trained CTC model yet",
        "Start a training job with the CTC method (Jobs > Start a job, or POST /api/jobs/",
    )


def test_a_missing_model_file_is_a_server_error_that_says_so(api_client, researcher, job, media_root):
    artifact = job.artifacts.get(method="ctc")
    (media_root / artifact.path).unlink()
    _assert_error(
        _post(api_client, researcher, audio_bytes(1.0)), 500, f"The CTC model of job {job.pk} cannot be loaded"
    )


def test_nothing_is_left_on_disk(api_client, researcher, worker_job, worker_media, settings):
    """Neither an accepted nor a refused upload leaves a file behind: not under MEDIA_ROOT (the
    worker removes the stored upload once the timeline is drawn), not in the temporary folder
    (large uploads are streamed there by Django first)."""
    media_root = worker_media
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000  # make Django stream uploads to temporary files
    (media_root / "predictions").mkdir(exist_ok=True)
    before_media = sorted(p for p in media_root.rglob("*"))
    temporary = Path(tempfile.gettempdir())
    before_tmp = set(temporary.iterdir())
    assert _post(api_client, researcher, audio_bytes(2.0)).status_code == 200
    assert _post(api_client, researcher, b"not audio at all" * 100).status_code == 400
    assert sorted(p for p in media_root.rglob("*")) == before_media
    left = {p for p in set(temporary.iterdir()) - before_tmp if "emolab-timeline" in p.name or p.suffix == ".upload"}
    assert not left


# --- the schema -------------------------------------------------------------------------------


def test_openapi_schema_documents_the_multipart_upload(api_client, researcher):
    api_client.force_authenticate(researcher)
    response = api_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    operation = response.json()["paths"]["/api/predict/"]["post"]
    content = operation["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    schema_ref = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    request_schema = response.json()["components"]["schemas"][schema_ref]
    assert request_schema["properties"]["audio"]["format"] == "binary"
    assert request_schema["required"] == ["audio"]
    assert {"200", "202", "400", "404", "409", "413", "429", "503"} <= set(operation["responses"])
    schemas = response.json()["components"]["schemas"]
    accepted = operation["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"id", "status", "progress"} <= set(schemas[accepted]["properties"])
    assert "Location" in operation["responses"]["202"]["description"]
    poll = response.json()["paths"]["/api/predictions/{id}/"]["get"]
    polled = poll["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    # The status fields and every field of the 200 body.
    assert {"id", "status", "progress", "segments", "probabilities", "file"} <= set(schemas[polled]["properties"])
    assert "404" in poll["responses"]


# --- abuse files (issue 12): refused from the header, at once, with the reason ------------------


@pytest.mark.parametrize("name", list(ABUSE_FILES))
def test_abuse_files_get_a_400_that_says_what_is_wrong(api_client, researcher, job, name):
    make, fragment = ABUSE_FILES[name]
    started = time.perf_counter()
    response = _post(api_client, researcher, make(), name="abuse.flac" if "FLAC" in name else "abuse.wav")
    _assert_error(response, 400, fragment)
    assert time.perf_counter() - started < 2.0  # before: 11-19 s, a SIGKILLed web worker for the FLAC
