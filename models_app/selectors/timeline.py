"""Reads for the emotion timeline: which CTC model draws it."""

from __future__ import annotations

from django.db.models import QuerySet

from models_app.models import ModelArtifact, TrainingJob

CTC_METHOD = "ctc"
HOW_TO_TRAIN = (
    'Start a training job with the CTC method (Jobs > Start a job, or POST /api/jobs/ with "ctc" among '
    "its methods); when the job has succeeded, its final CTC model draws emotion timelines."
)


class NoCTCModel(Exception):
    """No CTC model to draw a timeline with. The message says how to get one."""


class UnknownJob(Exception):
    """The job asked for does not exist."""


def ctc_artifacts() -> QuerySet[ModelArtifact]:
    """Final CTC models of succeeded jobs, the newest job first."""
    return (
        ModelArtifact.objects.filter(method=CTC_METHOD, job__status=TrainingJob.Status.SUCCEEDED)
        .select_related("job", "job__corpus")
        .order_by("-job__created_at", "-job_id")
    )


def training_jobs_with_ctc_model() -> list[TrainingJob]:
    """Succeeded jobs that have a final CTC model, the newest first (the page's choice of model)."""
    return [artifact.job for artifact in ctc_artifacts()]


def ctc_artifact_for(*, job_id: int | None = None) -> ModelArtifact:
    """The CTC model of job ``job_id``, or, without a job, of the latest succeeded job that has one.

    Raises UnknownJob for a job that does not exist, NoCTCModel when the job (or every job) has
    no final CTC model.
    """
    if job_id is None:
        artifact = ctc_artifacts().first()
        if artifact is None:
            raise NoCTCModel(f"No trained CTC model yet. {HOW_TO_TRAIN}")
        return artifact
    job = TrainingJob.objects.filter(pk=job_id).first()
    if job is None:
        raise UnknownJob(f"There is no training job {job_id}.")
    artifact = ctc_artifacts().filter(job=job).first()
    if artifact is not None:
        return artifact
    if job.status != TrainingJob.Status.SUCCEEDED:
        reason = f"Job {job_id} is {job.status}: it has no final models until it has succeeded."
    else:
        reason = f"Job {job_id} did not train the CTC method (its methods: {', '.join(job.methods)})."
    raise NoCTCModel(f"{reason} {HOW_TO_TRAIN}")
