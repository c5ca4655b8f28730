"""Stored reports (issue 16): a page never computes; the first request queues a computation and
shows its progress; new answers queue a debounced refresh while the page serves the stored version
with its "as of" time; a real worker computes and stores it."""

import json

import pytest
from django.utils import timezone

from annotation.models import CampaignItem, Judgment
from models_app.models import StoredReport, TrainingJob
from models_app.services import reports as report_services
from models_app.services.reports import DEBOUNCE, stored_report_compute, stored_report_compute_now
from tests.factories import build_report_data, make_user
from tests.worker import wait_until


@pytest.fixture
def data(db, tmp_path):
    return build_report_data(tmp_path / "tiny")


@pytest.fixture
def sent(monkeypatch):
    """The compute tasks sent to the broker: (stored id, countdown in seconds)."""
    calls = []
    monkeypatch.setattr(
        report_services.app,
        "send_task",
        lambda name, args, countdown=0: calls.append((name, args[0], countdown)),
    )
    return calls


def _query(data, job=True):
    return f"job={data['job'].pk}&campaign={data['campaign'].pk}" if job else f"campaign={data['campaign'].pk}"


def _answer(data, assessor_name="carol", answer="anger", position=1):
    item = CampaignItem.objects.filter(campaign=data["campaign"], role="main").first()
    assessor = make_user("assessor", assessor_name)
    return Judgment.objects.create(
        campaign=data["campaign"], item=item, utterance=item.utterance, assessor=assessor, answer=answer,
        phase="main", expert_label=item.utterance.label, is_correct=answer == item.utterance.label,
        response_ms=900, position=position,
    )  # fmt: skip


def test_the_first_request_queues_a_computation_and_shows_its_progress(
    client, researcher, data, sent, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(f"/reports/comparison/?{_query(data)}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "This report is being computed on a worker" in page and 'id="toc"' not in page
    stored = StoredReport.objects.get()
    assert stored.status == StoredReport.Status.QUEUED and stored.report is None
    assert sent == [(report_services.COMPUTE_TASK, stored.pk, 0.0)]
    # A second request while it is queued sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/reports/comparison/?{_query(data)}")
    assert len(sent) == 1
    status = client.get(f"/reports/comparison/status/?{_query(data)}").json()
    assert status["pending"] is True and status["version"] == ""
    # The worker's work; then the page shows the report with the time of its data.
    stored_report_compute(stored_id=stored.pk)
    stored.refresh_from_db()
    assert stored.status == StoredReport.Status.IDLE and stored.report["table1"]["ctc"]["overall_accuracy"] == 0.875
    assert set(stored.timings) >= {"inputs", "table1", "mcnemar", "confusion", "human", "figures", "total"}
    assert stored.progress_done == stored.progress_total == len(report_services.SECTIONS_COUNTED)
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    assert 'id="toc"' in page and "Computed from the data as of" in page
    assert "A newer version is being computed" in page  # present for the script, hidden
    assert 'id="report-status-pending" hidden' in page
    status = client.get(f"/reports/comparison/status/?{_query(data)}").json()
    assert status == {**status, "pending": False, "version": stored.fingerprint, "error": ""}


def test_a_new_answer_queues_a_debounced_refresh_and_the_page_keeps_the_stored_version(
    client, researcher, data, sent, django_capture_on_commit_callbacks
):
    stored = stored_report_compute_now(job=data["job"], campaign=data["campaign"])
    old_fingerprint, old_as_of = stored.fingerprint, stored.as_of
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _answer(data, "carol", position=1)
    stored.refresh_from_db()
    assert stored.status == StoredReport.Status.QUEUED and stored.wanted_fingerprint != old_fingerprint
    # Computed moments ago: the refresh waits until 30 s after that computation started.
    ((_name, stored_id, countdown),) = sent
    assert stored_id == stored.pk and 0 < countdown <= DEBOUNCE.total_seconds()
    # More answers while it is queued: no more tasks (the queued one reads the latest data).
    with django_capture_on_commit_callbacks(execute=True):
        _answer(data, "dave", position=1)
        _answer(data, "erin", position=1)
    assert len(sent) == 1
    client.force_login(researcher)
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    assert "Computed from the data as of" in page and 'id="report-status-pending" hidden' not in page
    assert "A newer version is being computed" in page
    stored_report_compute(stored_id=stored.pk)
    stored.refresh_from_db()
    assert stored.as_of > old_as_of and stored.status == StoredReport.Status.IDLE
    assert stored.report["human"]["n_scored"] == 11  # 8 answers and the three new ones


def test_an_answer_long_after_the_last_computation_is_computed_at_once(data, sent, django_capture_on_commit_callbacks):
    stored = stored_report_compute_now(job=None, campaign=data["campaign"])
    StoredReport.objects.filter(pk=stored.pk).update(started_at=timezone.now() - 2 * DEBOUNCE)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _answer(data)
    assert [countdown for _name, _id, countdown in sent] == [0.0]


def test_a_changed_answer_makes_the_stored_report_stale(data, sent, django_capture_on_commit_callbacks):
    # An assessor's undo rewrites the answer in place: same rows, same ids, a new answer.
    judgment = _answer(data, "carol", answer="anger", position=1)
    stored = stored_report_compute_now(job=None, campaign=data["campaign"])
    StoredReport.objects.filter(pk=stored.pk).update(started_at=timezone.now() - 2 * DEBOUNCE)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        judgment.first_answer, judgment.answer, judgment.changed_at = "anger", "sadness", timezone.now()
        judgment.save(update_fields=["first_answer", "answer", "changed_at"])
    stored.refresh_from_db()
    assert stored.status == StoredReport.Status.QUEUED and stored.wanted_fingerprint != stored.fingerprint
    assert [countdown for _name, _id, countdown in sent] == [0.0]


def test_reports_nobody_asked_for_are_not_computed_on_answers(data, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _answer(data)
    assert sent == [] and not StoredReport.objects.exists()


def test_a_finished_job_gets_its_report_computed_before_anyone_opens_it(data, sent, django_capture_on_commit_callbacks):
    job = TrainingJob.objects.create(
        corpus=data["corpus"], methods=["dummy"], preset="fast", config={}, classes=data["job"].classes
    )
    assert not StoredReport.objects.filter(job=job).exists()
    job.status = TrainingJob.Status.SUCCEEDED
    with django_capture_on_commit_callbacks(execute=True):
        job.save(update_fields=["status"])
    stored = StoredReport.objects.get(job=job)
    assert stored.campaign is None and stored.status == StoredReport.Status.QUEUED
    assert [stored_id for _name, stored_id, _countdown in sent] == [stored.pk]


def test_a_failed_computation_says_why_on_the_page(client, researcher, data, sent, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report_services, "comparison_report", broken)
    stored = stored_report_compute_now(job=data["job"], campaign=data["campaign"])
    assert stored.status == StoredReport.Status.FAILED and "disk full" in stored.error
    client.force_login(researcher)
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    assert "The computation failed" in page and "disk full" in page


def test_the_status_is_for_researchers_only(client, assessor, data):
    stored_report_compute_now(job=data["job"], campaign=data["campaign"])
    client.force_login(assessor)
    assert client.get(f"/reports/comparison/status/?{_query(data)}").status_code == 403


def test_a_real_worker_computes_the_report_the_page_asked_for(client, researcher, celery_worker, tmp_path):
    data = build_report_data(tmp_path / "tiny")
    client.force_login(researcher)
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    assert "This report is being computed on a worker" in page
    wait_until(
        lambda: client.get(f"/reports/comparison/status/?{_query(data)}").json()["version"],
        timeout=120,
        message="the worker to store the report:\n" + celery_worker.log(),
    )
    page = client.get(f"/reports/comparison/?{_query(data)}").content.decode()
    assert 'id="toc"' in page and "<strong>87.5%</strong>" in page
    stored = StoredReport.objects.get()
    assert json.dumps(stored.report, allow_nan=False)
