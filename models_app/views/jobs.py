"""Pages for training jobs. Admins start and cancel; researchers may look."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from emolab.celery import TaskQueueUnavailable
from emolab.roles import admin_required, is_admin, researcher_required
from models_app.forms import JobStartForm
from models_app.selectors.jobs import (
    training_job_has_ctc_model,
    training_job_progress,
    training_job_timing,
    training_jobs_visible_to,
)
from models_app.ser.registry import ROW_NAMES, row_long_title
from models_app.services import jobs as job_services


@researcher_required
def job_list(request):
    jobs = list(training_jobs_visible_to(user=request.user)[:200])
    for job in jobs:
        job.progress_fraction = training_job_progress(job=job)
    return render(request, "models_app/jobs/list.html", {"jobs": jobs, "can_start": is_admin(request.user)})


@admin_required
def job_start(request):
    form = JobStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = job_services.training_job_start(
                corpus=data["corpus"],
                methods=data["methods"],
                preset=data["preset"],
                folds=data["folds"],
                seed=data["seed"],
                features=data["features"],
                device=data["device"],
                model_seeds=data["model_seeds"],
                created_by=request.user,
            )
        except TaskQueueUnavailable as exc:
            # The job exists (failed, with the reason): say so, and where to resume it.
            context = {"form": form, "queue_down": str(exc), "failed_job_id": exc.job_id}
            return render(request, "models_app/jobs/start.html", context, status=503)
        except job_services.JobError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Job {job.pk} queued.")
            return redirect("models_app:job-detail", pk=job.pk)
    return render(request, "models_app/jobs/start.html", {"form": form})


def _table1(job) -> list[dict]:
    rows = []
    for name in list(ROW_NAMES) + sorted(set(job.results) - set(ROW_NAMES)):
        if name in job.results:
            rows.append({"name": name, "label": row_long_title(name), **job.results[name]})
    return rows


def _ranked_comparisons(job) -> list[dict]:
    """A seeds job's paired tests between neighbours in its mean ranking (mean class accuracy)."""
    rows = [name for name, entry in job.results.items() if "beats" in entry]
    ranked = sorted(rows, key=lambda name: -job.results[name]["mean_class_accuracy"])
    return [
        {"a": row_long_title(a), "b": row_long_title(b), **job.results[a]["beats"][b]}
        for a, b in zip(ranked, ranked[1:], strict=False)
        if b in job.results[a]["beats"]
    ]


@researcher_required
def job_detail(request, pk: int):
    job = get_object_or_404(training_jobs_visible_to(user=request.user), pk=pk)
    progress = training_job_progress(job=job)
    context = {
        "job": job,
        "progress": progress,
        "timing": training_job_timing(job=job, progress=progress),
        "has_ctc_model": job.status == job.Status.SUCCEEDED and training_job_has_ctc_model(job=job),
        "units": job.units.all(),
        "table1": _table1(job) if job.status == job.Status.SUCCEEDED else [],
        "comparisons": _ranked_comparisons(job) if job.status == job.Status.SUCCEEDED else [],
        "can_manage": is_admin(request.user),
        "artifacts": list(job.artifacts.all()) if job.status == job.Status.SUCCEEDED else [],
    }
    return render(request, "models_app/jobs/detail.html", context)


@require_POST
@admin_required
def job_cancel(request, pk: int):
    job = get_object_or_404(training_jobs_visible_to(user=request.user), pk=pk)
    try:
        job_services.training_job_cancel(job=job)
        messages.success(request, f"Job {job.pk} cancelled.")
    except job_services.JobError as exc:
        messages.error(request, str(exc))
    return redirect("models_app:job-detail", pk=job.pk)


@require_POST
@admin_required
def job_resume(request, pk: int):
    job = get_object_or_404(training_jobs_visible_to(user=request.user), pk=pk)
    try:
        job_services.training_job_resume(job=job)
        messages.success(request, f"Job {job.pk} resumed: what is missing runs again.")
    except (job_services.JobError, TaskQueueUnavailable) as exc:
        messages.error(request, str(exc))
    return redirect("models_app:job-detail", pk=job.pk)
