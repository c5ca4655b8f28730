"""The job page (issue 16): elapsed time and time left, links to the job's report and its timeline
model, and a finished unit that says "done" instead of its last epoch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from models_app.models import JobUnit, ModelArtifact, TrainingJob
from models_app.selectors.jobs import training_job_timing
from models_app.templatetags.job_format import duration
from tests.factories import TWO_CLASSES, make_corpus


@pytest.fixture
def corpus(db, tmp_path):
    return make_corpus(tmp_path / "c", name="timing", speakers=("s1",), per_speaker_class=1)


def _job(corpus, **fields):
    return TrainingJob.objects.create(
        corpus=corpus, methods=["dummy", "ctc"], preset="fast", config={}, classes=TWO_CLASSES, **fields
    )


def test_time_left_is_elapsed_times_the_share_still_to_do(corpus):
    now = timezone.now()
    job = _job(corpus, status="running", started_at=now - timedelta(seconds=100))
    # A quarter done in 100 s: three quarters left take 300 s.
    assert training_job_timing(job=job, progress=0.25, now=now) == {"elapsed_s": 100.0, "eta_s": 300.0}
    # Below 2% the estimate would be noise.
    assert training_job_timing(job=job, progress=0.01, now=now)["eta_s"] is None
    finished = _job(
        corpus, status="succeeded", started_at=now - timedelta(seconds=500), finished_at=now - timedelta(seconds=20)
    )
    assert training_job_timing(job=finished, progress=1.0, now=now) == {"elapsed_s": 480.0, "eta_s": None}


def test_durations_read_as_minutes_and_seconds():
    assert [duration(v) for v in (None, 42.4, 200, 3900)] == ["-", "42 s", "3 min 20 s", "1 h 5 min"]


def test_a_finished_job_links_its_report_and_timeline_model_and_its_units_say_done(client, corpus, researcher):
    now = timezone.now()
    job = _job(corpus, status="succeeded", started_at=now - timedelta(minutes=3), finished_at=now)
    JobUnit.objects.create(job=job, kind="finalize", status="succeeded", progress=1.0, detail={"epoch": 30})
    ModelArtifact.objects.create(
        job=job, method="ctc", path="models/x.ckpt", config={}, feature_config={}, classes=TWO_CLASSES
    )
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "epoch 30" not in page and "<td>done</td>" in page
    assert f'href="/reports/comparison/?job={job.pk}"' in page
    assert f'href="/timeline/?job={job.pk}"' in page
    assert 'Elapsed: <span id="job-elapsed">3 min 0 s</span>' in page
    assert "estimated time left" not in page
    # The timeline page preselects the job's model.
    timeline = client.get(f"/timeline/?job={job.pk}").content.decode()
    assert f'<option value="{job.pk}" selected>' in timeline


def test_a_running_job_shows_its_epoch_and_time_left(client, corpus, researcher):
    now = timezone.now()
    job = _job(corpus, status="running", started_at=now - timedelta(seconds=60))
    JobUnit.objects.create(
        job=job, kind="fold", method="ctc", fold=0, status="running", progress=0.5, detail={"epoch": 3, "total": 6}
    )
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "epoch 3 of 6" in page and "estimated time left" in page
    assert 'id="job-report-link"' not in page
