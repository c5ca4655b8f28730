"""A trained model as one zip (weights + model.json), and ``manage.py predict --model`` running it
in another installation whose database never saw the job."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from models_app.models import UtterancePrediction
from models_app.ser.model_file import CARD_KEYS, MODEL_FORMAT
from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import audio_bytes, job_with_ctc_model, make_user, small_corpus, tiny_ctc_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def model():
    return tiny_ctc_model()


@pytest.fixture
def job(db, media_root, tmp_path, model):
    ctc_model_cache_clear()
    job = job_with_ctc_model(small_corpus(tmp_path), model)
    job.code_version = "abc123def456"
    job.results = {
        "ctc": {
            "title": "CTC",
            "overall_accuracy": 0.5,
            "mean_class_accuracy": 0.5,
            "n": 2,
            "confusion": [[1, 0], [1, 0]],
        },
        "ctc_best_path": {"title": "CTC (best path)", "overall_accuracy": 0.5, "mean_class_accuracy": 0.5, "n": 2},
    }
    job.save()
    for fold, utterance in enumerate(job.corpus.utterances.order_by("name")):
        UtterancePrediction.objects.create(
            job=job, row="ctc", fold=fold, utterance=utterance, true_label=utterance.label, predicted_label="anger"
        )
    return job


def _download(client, user, job, method="ctc"):
    client.force_login(user)
    return client.get(f"/api/jobs/{job.pk}/models/{method}/")


def test_the_zip_holds_the_weights_and_a_complete_model_card(client, admin_user, job):
    response = _download(client, admin_user, job)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f'filename="emolab-job{job.pk}-ctc.zip"' in response["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert sorted(archive.namelist()) == ["model.json", "weights/ctc.ckpt"]
    card = json.loads(archive.read("model.json"))
    assert list(card) == list(CARD_KEYS)
    assert card["model_format"] == MODEL_FORMAT
    assert card["method"] == "ctc" and card["classes"] == ["anger", "neutral"]
    assert card["code_version"] == "abc123def456" and card["preset"] == "fast"
    assert card["feature_config"]["window_s"] == pytest.approx(0.2)
    assert card["training"]["corpus"] == "tiny" and card["training"]["speakers"] == {"s1": 2, "s2": 2}
    assert card["training"]["n_utterances"] == 4 and card["training"]["job"] == job.pk
    assert set(card["table1"]) == {"ctc", "ctc_best_path"}
    assert card["table1"]["ctc"]["overall_accuracy"] == 0.5
    assert card["created_at"]


def test_researchers_may_download_assessors_and_anonymous_may_not(client, researcher, job):
    assert _download(client, researcher, job).status_code == 200
    assert _download(client, make_user("assessor"), job).status_code in (403, 404)
    client.logout()
    assert client.get(f"/api/jobs/{job.pk}/models/ctc/").status_code in (401, 403)


def test_a_method_the_job_did_not_train_answers_404(client, admin_user, job):
    assert _download(client, admin_user, job, method="framewise").status_code == 404
    assert _download(client, admin_user, job, method="nonsense").status_code == 404


def test_job_page_and_admin_offer_the_download_not_a_bare_path(client, admin_user, job):
    admin_user.is_superuser = True  # the admin's model pages need model permissions
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f"/api/jobs/{job.pk}/models/ctc/" in page
    admin_list = client.get("/admin/models_app/modelartifact/").content.decode()
    assert f"/api/jobs/{job.pk}/models/ctc/" in admin_list
    assert "models/job-" not in admin_list


def _model_zip(client, admin_user, job, tmp_path) -> Path:
    path = tmp_path / "model.zip"
    path.write_bytes(b"".join(_download(client, admin_user, job).streaming_content))
    return path


def test_predict_with_a_model_file_in_process(client, admin_user, job, tmp_path):
    model_zip = _model_zip(client, admin_user, job, tmp_path)
    recording = tmp_path / "talk.wav"
    recording.write_bytes(audio_bytes(3.0))
    expected = io.StringIO()
    call_command("predict", str(recording), "--job", str(job.pk), "--json", stdout=expected)
    from_file = io.StringIO()
    call_command("predict", str(recording), "--model", str(model_zip), "--json", stdout=from_file)
    ours, theirs = json.loads(expected.getvalue()), json.loads(from_file.getvalue())
    # The same network: the same timeline, frame by frame.
    assert theirs["probabilities"] == ours["probabilities"]
    assert theirs["segments"] == ours["segments"] and theirs["job"] == job.pk


def test_a_model_file_from_an_incompatible_code_version_is_refused_naming_both(client, admin_user, job, tmp_path):
    model_zip = _model_zip(client, admin_user, job, tmp_path)
    altered = tmp_path / "future.zip"
    with zipfile.ZipFile(model_zip) as source, zipfile.ZipFile(altered, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "model.json":
                card = json.loads(data)
                card["model_format"] = MODEL_FORMAT + 1
                card["code_version"] = "fedcba987654"
                data = json.dumps(card).encode()
            target.writestr(name, data)
    recording = tmp_path / "talk.wav"
    recording.write_bytes(audio_bytes(2.0))
    with pytest.raises(CommandError) as refused:
        call_command("predict", str(recording), "--model", str(altered))
    message = str(refused.value)
    assert "fedcba987654" in message and f"model format {MODEL_FORMAT + 1}" in message
    assert f"reads model format {MODEL_FORMAT}" in message and "this is code version" in message


def test_a_model_file_with_a_pickle_inside_is_refused_unopened(client, admin_user, job, tmp_path):
    model_zip = _model_zip(client, admin_user, job, tmp_path)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(model_zip) as source, zipfile.ZipFile(evil, "w") as target:
        target.writestr("model.json", source.read("model.json"))
        target.writestr("weights/ctc.ckpt", b"\x80\x04cos\nsystem\n(S'echo owned'\ntR.")
    recording = tmp_path / "talk.wav"
    recording.write_bytes(audio_bytes(2.0))
    with pytest.raises(CommandError, match="not a network checkpoint"):
        call_command("predict", str(recording), "--model", str(evil))


@pytest.mark.django_db(transaction=True)
def test_predict_runs_a_downloaded_model_in_an_installation_with_an_empty_database(client, job, tmp_path):
    admin_user = make_user("admin")
    model_zip = _model_zip(client, admin_user, job, tmp_path)
    recording = tmp_path / "talk.wav"
    recording.write_bytes(audio_bytes(3.0))
    other = tmp_path / "other-installation"
    other.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "emolab.settings",
        "SECRET_KEY": "another-installation",
        "EMOLAB_VAR_DIR": str(other),
        "DATABASE_URL": f"sqlite:///{other}/empty.sqlite3",
    }
    manage = [sys.executable, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=other, timeout=300)
    done = subprocess.run(
        [*manage, "predict", str(recording), "--model", str(model_zip)],
        env=env,
        cwd=other,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"job {job.pk}" in done.stdout and "(model file)" in done.stdout
    assert "segment(s)" in done.stdout
