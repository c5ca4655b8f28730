"""Training jobs through the API and pages, without a worker: roles, validation, cancellation.
The worker itself is exercised in test_jobs_worker.py; an unreachable broker, resume and the
watchdog in test_jobs_reliability.py."""

import pytest
from rest_framework.authtoken.models import Token

from models_app.models import TrainingJob
from models_app.ser.progress import ProgressEvent
from models_app.services import jobs as job_services
from tests.factories import make_corpus

JOB_REQUEST = {"corpus": "tiny", "methods": ["dummy", "framewise"], "preset": "fast", "folds": 2, "seed": 0}


@pytest.fixture
def corpus(db, tmp_path):
    return make_corpus(tmp_path / "tiny", name="tiny", speakers=("s1", "s2", "s3"), per_speaker_class=1)


def test_anonymous_api_calls_get_401(api_client, corpus):
    assert api_client.get("/api/jobs/").status_code == 401
    assert api_client.post("/api/jobs/", JOB_REQUEST, format="json").status_code == 401


@pytest.mark.parametrize("role", ["assessor", "researcher"])
def test_only_admins_start_jobs(api_client, corpus, role, request):
    api_client.force_authenticate(request.getfixturevalue(role))
    response = api_client.post("/api/jobs/", JOB_REQUEST, format="json")
    assert response.status_code == 403
    assert not TrainingJob.objects.exists()


def test_assessors_cannot_read_jobs_and_researchers_can(api_client, corpus, admin_user, assessor, researcher):
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    api_client.force_authenticate(assessor)
    assert api_client.get("/api/jobs/").status_code == 403
    assert api_client.get(f"/api/jobs/{job.pk}/").status_code == 403
    api_client.force_authenticate(researcher)
    assert api_client.get(f"/api/jobs/{job.pk}/").status_code == 200
    assert api_client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 403


def test_admin_starts_a_job_with_a_token(api_client, corpus, admin_user, django_capture_on_commit_callbacks):
    token = Token.objects.create(user=admin_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/jobs/", JOB_REQUEST, format="json")
    assert response.status_code == 201, response.content
    job = TrainingJob.objects.get(pk=response.json()["id"])
    assert (job.status, job.methods, job.n_folds, job.created_by) == ("queued", ["dummy", "framewise"], 2, admin_user)
    assert job.config["name"] == "fast" and job.classes == ["anger", "neutral"]
    # prepare + 2 methods x 2 folds + finalize
    assert job.units.count() == 6
    assert len(callbacks) == 1, "the first task is sent once, after the commit"
    body = api_client.get(f"/api/jobs/{job.pk}/").json()
    assert body["status"] == "queued" and body["progress"] == 0 and body["results"] is None


@pytest.mark.parametrize(
    "change, message",
    [
        ({"methods": ["svm"]}, "methods"),
        ({"methods": []}, "methods"),
        ({"corpus": "nope"}, "corpus"),
        ({"folds": 1}, "folds"),
        ({"preset": "turbo"}, "unknown preset"),
        ({"folds": 5}, "cross-validation groups"),  # the tiny corpus has 3 speakers
    ],
)
def test_bad_job_requests_get_400_with_the_reason(api_client, corpus, admin_user, change, message):
    api_client.force_authenticate(admin_user)
    response = api_client.post("/api/jobs/", {**JOB_REQUEST, **change}, format="json")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not TrainingJob.objects.exists()


def test_cancel_marks_the_job_and_its_waiting_units(api_client, corpus, admin_user):
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    api_client.force_authenticate(admin_user)
    response = api_client.post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert set(job.units.values_list("status", flat=True)) == {"cancelled"}
    assert api_client.post(f"/api/jobs/{job.pk}/cancel/").status_code == 409


def test_a_running_unit_stops_when_its_job_is_cancelled(corpus, admin_user):
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    unit = job.units.get(kind="fold", fold=0)
    report = job_services._progress_writer(unit)
    report(ProgressEvent(stage="onelabel", done=1, total=10, detail={"epoch": 1}))
    unit.refresh_from_db()
    assert unit.progress == pytest.approx(0.1) and unit.detail["epoch"] == 1
    job_services.training_job_cancel(job=job)
    with pytest.raises(job_services.JobCancelled):
        report(ProgressEvent(stage="onelabel", done=10, total=10))


def test_job_pages_follow_the_roles(client, corpus, admin_user, researcher, assessor):
    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    client.force_login(assessor)
    assert client.get("/jobs/").status_code == 403
    client.force_login(researcher)
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Job #" in page and "Cancel job" not in page
    assert client.get("/jobs/new/").status_code == 403
    client.force_login(admin_user)
    assert "Cancel job" in client.get(f"/jobs/{job.pk}/").content.decode()
    response = client.post(
        "/jobs/new/", {"corpus": "tiny", "methods": ["dummy"], "preset": "fast", "folds": 2, "seed": 1}
    )
    assert response.status_code == 302
    assert TrainingJob.objects.count() == 2


def test_the_start_form_shows_why_a_job_cannot_start(client, corpus, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/jobs/new/", {"corpus": "tiny", "methods": ["dummy"], "preset": "fast", "folds": 5, "seed": 0}
    )
    assert response.status_code == 200
    assert "cross-validation groups" in response.content.decode()


def test_cancel_form_requires_csrf(corpus, admin_user):
    from django.test import Client

    job = job_services.training_job_start(
        corpus=corpus, methods=["dummy"], preset="fast", folds=2, created_by=admin_user
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"


def test_openapi_schema_lists_the_job_endpoints(api_client, admin_user):
    api_client.force_authenticate(admin_user)
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/jobs/" in paths and "/api/jobs/{id}/cancel/" in paths


def test_only_researchers_and_admins_see_jobs_whatever_calls_the_selector(corpus, admin_user, researcher, assessor):
    from models_app.selectors.jobs import training_jobs_visible_to

    job = job_services.training_job_start(corpus=corpus, methods=["dummy"], folds=2, created_by=admin_user)
    assert list(training_jobs_visible_to(user=researcher)) == [job]
    assert list(training_jobs_visible_to(user=admin_user)) == [job]
    assert not training_jobs_visible_to(user=assessor).exists()
