"""Stored comparison reports (issue 16): ask for a report, refresh it when its inputs change, and
compute it (called by the Celery task).

A page never computes a report: it shows the stored version at once, with the time of its data,
and asks a worker for a newer one when the inputs changed. Refreshes are debounced: during a live
campaign a report is computed at most once every ``DEBOUNCE`` per report, and a refresh already
queued reads the latest data when it runs, so a burst of answers costs one computation.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from annotation.models import Campaign
from emolab.celery import app
from models_app.models import StoredReport, TrainingJob
from models_app.selectors.reports import (
    ReportInputError,
    comparison_report,
    explorer_rows,
    report_fingerprint,
    stored_report_key,
)
from models_app.ser.analysis import plots
from models_app.ser.analysis.inputs import HUMAN_ROW
from models_app.ser.analysis.report import SECTIONS as ANALYSIS_SECTIONS
from models_app.ser.progress import ProgressEvent
from models_app.services.failures import error_text

logger = logging.getLogger(__name__)

COMPUTE_TASK = "models_app.reports.compute"
# At most one computation of a report per this interval while answers arrive (issue 16: 30 s).
DEBOUNCE = timedelta(seconds=30)
# A refresh queued this long ago and not started has lost its message (a broker restart): send it again.
LOST_AFTER = timedelta(minutes=10)
# Sections the progress bar counts: the analysis's (ser/analysis/report.py) and the figures.
FIGURES_SECTION = "figures"
EXPLORER_SECTION = "explorer"
SECTIONS_COUNTED = ("inputs", *ANALYSIS_SECTIONS, FIGURES_SECTION)


def _enqueue(stored: StoredReport, delay_s: float) -> None:
    stored_id = stored.pk
    countdown = max(0.0, delay_s)
    transaction.on_commit(lambda: app.send_task(COMPUTE_TASK, args=(stored_id,), countdown=countdown))


def _schedule(stored: StoredReport, fingerprint: str, *, now=None) -> None:
    """Ask for a computation of ``fingerprint``'s data, unless one is set to run already (it reads
    the latest data when it runs). Not before ``DEBOUNCE`` after the last computation started."""
    now = now or timezone.now()
    stored.wanted_fingerprint = fingerprint
    fields = ["wanted_fingerprint"]
    already_set = (
        stored.is_pending
        and stored.not_before is not None
        and (stored.not_before > now or stored.status == StoredReport.Status.QUEUED)
        and now - stored.not_before < LOST_AFTER
    )
    if not already_set:
        not_before = now
        if stored.started_at is not None and stored.report is not None:
            not_before = max(now, stored.started_at + DEBOUNCE)
        if stored.status != StoredReport.Status.COMPUTING:
            stored.status = StoredReport.Status.QUEUED
            stored.progress_done, stored.progress_section = 0, ""
            fields += ["status", "progress_done", "progress_section"]
        stored.not_before = not_before
        fields.append("not_before")
        _enqueue(stored, (not_before - now).total_seconds())
    stored.save(update_fields=fields)


def stored_report_request(
    *, job: TrainingJob | None, campaign: Campaign | None, seed: int = 0, without: tuple[str, ...] = ()
) -> StoredReport:
    """The stored report for a page: created and queued on the first request, queued again when
    its inputs changed since the stored version (debounced), returned as it is otherwise.
    ``without``: large fields the caller does not read (the explorer's rows, the figures)."""
    key = stored_report_key(job=job, campaign=campaign, seed=seed)
    fingerprint = report_fingerprint(job=job, campaign=campaign)
    with transaction.atomic():
        stored, _created = (
            StoredReport.objects.select_for_update(of=("self",))
            .defer(*without)
            .get_or_create(key=key, defaults={"job": job, "campaign": campaign, "seed": seed})
        )
        up_to_date = stored.report is not None and stored.fingerprint == fingerprint
        asked_already = stored.wanted_fingerprint == fingerprint and stored.is_pending
        if not up_to_date and not asked_already:
            _schedule(stored, fingerprint)
    return stored


def stored_reports_inputs_changed(*, job_id: int | None = None, campaign_id: int | None = None) -> None:
    """A job finished or an answer arrived: queue a refresh of every stored report that reads it,
    once the change has committed (reports nobody asked for are not computed).

    Runs after the commit and in its own short transactions, so an answer never waits on a report's
    row lock; a report whose refresh is already queued is skipped without a lock or a count (the
    queued computation reads the latest data when it runs)."""
    if job_id is None and campaign_id is None:
        return
    transaction.on_commit(lambda: _refresh_reports(job_id=job_id, campaign_id=campaign_id))


def _refresh_reports(*, job_id: int | None, campaign_id: int | None) -> int:
    reports = StoredReport.objects.filter(job_id=job_id) if job_id is not None else None
    if reports is None:
        reports = StoredReport.objects.filter(campaign_id=campaign_id)
    now = timezone.now()
    queued = 0
    for pk, status, not_before in reports.values_list("pk", "status", "not_before"):
        if status == StoredReport.Status.QUEUED and not_before is not None and now - not_before < LOST_AFTER:
            continue
        with transaction.atomic():
            stored = StoredReport.objects.select_for_update(of=("self",)).select_related("job", "campaign").get(pk=pk)
            fingerprint = report_fingerprint(job=stored.job, campaign=stored.campaign)
            if fingerprint != stored.wanted_fingerprint or stored.status == StoredReport.Status.FAILED:
                _schedule(stored, fingerprint)
                queued += 1
    return queued


def training_job_finished(*, job: TrainingJob) -> None:
    """A job that succeeded gets its own report computed before anyone opens it; reports that
    read the job are refreshed."""
    if job.status == TrainingJob.Status.SUCCEEDED:
        stored_report_request(job=job, campaign=None, seed=0)
    stored_reports_inputs_changed(job_id=job.pk)


def _best_method(report: dict) -> str | None:
    """The method with the highest overall accuracy (the explorer's default confidence)."""
    methods = {name: row["overall_accuracy"] for name, row in report["table1"].items() if name != HUMAN_ROW}
    return max(methods, key=lambda name: methods[name] or 0.0) if methods else None


def stored_report_compute(*, stored_id: int) -> StoredReport | None:
    """Compute and store one report (the Celery task's work): read the inputs, run the analysis
    section by section (progress written to the row), draw every figure, store them with the time
    the inputs were read and the seconds each section took. None when the row is gone."""
    now = timezone.now()
    with transaction.atomic():
        stored = (
            StoredReport.objects.select_for_update(of=("self",))
            .select_related("job", "campaign")
            .filter(pk=stored_id)
            .first()
        )
        if stored is None:
            return None
        if stored.report is not None and stored.fingerprint == report_fingerprint(
            job=stored.job, campaign=stored.campaign
        ):
            # Already current (a duplicate delivery, or a refresh whose data did not change).
            if stored.status != StoredReport.Status.COMPUTING:
                stored.status = StoredReport.Status.IDLE
                stored.save(update_fields=["status"])
            return stored
        stored.status, stored.started_at, stored.error = StoredReport.Status.COMPUTING, now, ""
        stored.progress_done, stored.progress_total, stored.progress_section = 0, 0, ""
        stored.save(
            update_fields=["status", "started_at", "error", "progress_done", "progress_total", "progress_section"]
        )

    timings: dict[str, float] = {}
    clock = [time.perf_counter()]

    def heard(event: ProgressEvent) -> None:
        section = event.detail.get("section", event.stage)
        moment = time.perf_counter()
        timings[section] = round(moment - clock[0], 4)
        clock[0] = moment
        # One more step than the analysis reports: the figures.
        StoredReport.objects.filter(pk=stored_id).update(
            progress_done=event.done, progress_total=event.total + 1, progress_section=section
        )

    started = time.perf_counter()
    as_of = timezone.now()
    try:
        fingerprint = report_fingerprint(job=stored.job, campaign=stored.campaign)
        report = comparison_report(job=stored.job, campaign=stored.campaign, seed=stored.seed, progress=heard)
        moment = time.perf_counter()
        explorer = {
            "rows": explorer_rows(job=stored.job, campaign=stored.campaign),
            "methods": [row["name"] for row in report["rows"] if row["name"] != HUMAN_ROW],
            "classes": report["classes"],
            "best": _best_method(report),
        }
        timings[EXPLORER_SECTION] = round(time.perf_counter() - moment, 4)
        moment = time.perf_counter()
        figures = plots.comparison_figures(report)
        timings[FIGURES_SECTION] = round(time.perf_counter() - moment, 4)
    except Exception as exc:
        message = error_text(exc, own_errors=(ReportInputError,), with_traceback=True)
        StoredReport.objects.filter(pk=stored_id).update(status=StoredReport.Status.FAILED, error=message)
        if not isinstance(exc, ReportInputError):
            logger.exception("report %s failed", stored.key)
        return StoredReport.objects.get(pk=stored_id)
    timings["total"] = round(time.perf_counter() - started, 4)

    with transaction.atomic():
        stored = StoredReport.objects.select_for_update(of=("self",)).get(pk=stored_id)
        stored.report, stored.figures, stored.fingerprint, stored.as_of = report, figures, fingerprint, as_of
        stored.explorer = explorer
        stored.timings = timings
        stored.progress_done = stored.progress_total
        stored.progress_section = FIGURES_SECTION
        # Data that changed while this ran has a refresh queued already (stored_reports_inputs_changed).
        newer_wanted = stored.wanted_fingerprint not in ("", fingerprint)
        stored.status = StoredReport.Status.QUEUED if newer_wanted else StoredReport.Status.IDLE
        if not newer_wanted:
            stored.wanted_fingerprint = fingerprint
        stored.save()
    return stored


def stored_report_compute_now(*, job: TrainingJob | None, campaign: Campaign | None, seed: int = 0) -> StoredReport:
    """Ask for a report and compute it in this process (the benchmark, tests, a shell)."""
    stored = stored_report_request(job=job, campaign=campaign, seed=seed)
    return stored_report_compute(stored_id=stored.pk)
