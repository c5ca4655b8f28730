"""``manage.py predict FILE... [--job ID] [--json]``: segments printed per file; a non-zero exit
with the reason for bad input or when there is no model."""

import io
import json

import numpy as np
import pytest
import soundfile
from django.core.management import CommandError, call_command

from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import TWO_CLASSES as CLASSES
from tests.factories import (
    audio_bytes,
    job_with_ctc_model,
    job_without_ctc_model,
    small_corpus,
    tiny_ctc_model,
)
from tests.predict_abuse import ABUSE_FILES


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


@pytest.fixture
def recordings(tmp_path):
    good = tmp_path / "talk.wav"
    good.write_bytes(audio_bytes(3.0))
    stereo = tmp_path / "call.flac"
    stereo.write_bytes(audio_bytes(2.0, rate=44100, channels=2, file_format="FLAC"))
    text = tmp_path / "notes.wav"
    text.write_text("not a recording")
    return good, stereo, text


def _run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("predict", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_prints_the_segments_of_each_file(job, recordings):
    good, stereo, _ = recordings
    out, _ = _run(good, stereo)
    lines = out.splitlines()
    assert lines[0].startswith(f"{good}: 3.00 s, job {job.pk}, ")
    assert any(line.startswith(f"{stereo}: 2.00 s, job {job.pk}, ") for line in lines)
    segment_lines = [line for line in lines if "confidence" in line]
    assert segment_lines
    for line in segment_lines:
        start, end, emotion, _, confidence = line.split()
        assert 0 <= float(start) < float(end) <= 3.0 and emotion in CLASSES and 0 <= float(confidence) <= 1


def test_json_output_matches_the_api_shape(job, recordings):
    good, _, _ = recordings
    out, _ = _run(good, "--json", "--job", job.pk)
    payload = json.loads(out)
    assert payload["path"] == str(good) and payload["job"] == job.pk
    assert {"segments", "frame_step_s", "probabilities", "classes", "columns", "duration", "scored"} <= set(payload)
    assert len(payload["probabilities"]) == 29


def test_bad_file_exits_non_zero_with_the_reason_after_doing_the_others(job, recordings):
    good, _, text = recordings
    with pytest.raises(CommandError, match=r"1 of 2 file\(s\) could not be processed: .*notes.wav") as raised:
        call_command("predict", str(text), str(good), stdout=(out := io.StringIO()), stderr=(err := io.StringIO()))
    assert "not audio that can be read" in err.getvalue() and "notes.wav" in err.getvalue()
    assert f"{good}: 3.00 s" in out.getvalue()  # the good file was still done
    assert raised.value.returncode == 1


def test_missing_empty_too_long_files(job, recordings, tmp_path, settings):
    good, _, _ = recordings
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(CommandError):
        _run(tmp_path / "absent.wav")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("predict", str(tmp_path / "absent.wav"), str(empty), stdout=io.StringIO(), stderr=err)
    assert "no such file" in err.getvalue() and "The file is empty" in err.getvalue()
    settings.EMOLAB_PREDICT_MAX_SECONDS = 1
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("predict", str(good), stdout=io.StringIO(), stderr=err)
    assert "lasts 3.0 s; the limit is 1 s" in err.getvalue()


def test_nan_samples_are_refused(job, tmp_path):
    signal = np.ones(16000, dtype=np.float32) * 0.1
    signal[5] = np.inf
    path = tmp_path / "inf.wav"
    soundfile.write(str(path), signal, 16000, subtype="FLOAT")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("predict", str(path), stdout=io.StringIO(), stderr=err)
    assert "infinite" in err.getvalue()


def test_no_model_yet_says_how_to_train_one(db, media_root, recordings):
    good, _, _ = recordings
    with pytest.raises(CommandError, match="No trained CTC model yet. Start a training job with the CTC method"):
        _run(good)


def test_unknown_job_and_job_without_ctc(job, recordings, tmp_path):
    good, _, _ = recordings
    with pytest.raises(CommandError, match=f"There is no training job {job.pk + 50}"):
        _run(good, "--job", job.pk + 50)
    other = job_without_ctc_model(small_corpus(tmp_path, "other"))
    with pytest.raises(CommandError, match=f"Job {other.pk} did not train the CTC method"):
        _run(good, "--job", other.pk)


def test_abuse_files_are_refused_from_their_header_with_the_reason(job, recordings, tmp_path):
    """The command runs in process, so it checks the header as the web process does: each abuse
    file of issue 12 is refused at once with its reason, and the good file is still done."""
    good, _, _ = recordings
    paths = []
    for index, (make, _) in enumerate(ABUSE_FILES.values()):
        path = tmp_path / f"abuse-{index}.{'flac' if index == len(ABUSE_FILES) - 1 else 'wav'}"
        path.write_bytes(make())
        paths.append(path)
    err = io.StringIO()
    with pytest.raises(CommandError, match=rf"{len(paths)} of {len(paths) + 1} file\(s\) could not be processed"):
        call_command("predict", *map(str, paths), str(good), stdout=(out := io.StringIO()), stderr=err)
    for path, (_, fragment) in zip(paths, ABUSE_FILES.values(), strict=True):
        line = next(line for line in err.getvalue().splitlines() if line.startswith(f"{path}:"))
        assert fragment in line, line
    assert f"{good}: 3.00 s" in out.getvalue()
