"""What keeps stored reports fresh (issue 16): an answer saved or deleted, a training job finished.
Receivers stay thin: they call the report services, which debounce and queue the computation."""

from django.db.models.signals import post_delete, post_save

from annotation.models import Judgment
from models_app.models import TrainingJob
from models_app.services import reports as report_services


def _answer_changed(sender, instance: Judgment, **kwargs) -> None:
    report_services.stored_reports_inputs_changed(campaign_id=instance.campaign_id)


def _job_saved(sender, instance: TrainingJob, update_fields=None, **kwargs) -> None:
    # Only a save that writes the status of a finished job (not its heartbeats or progress; a job
    # created already finished comes from a fixture or an import, not from a run).
    if kwargs.get("created"):
        return
    if instance.status in TrainingJob.FINISHED and (update_fields is None or "status" in update_fields):
        report_services.training_job_finished(job=instance)


def connect() -> None:
    post_save.connect(_answer_changed, sender=Judgment, dispatch_uid="reports-answer-saved")
    post_delete.connect(_answer_changed, sender=Judgment, dispatch_uid="reports-answer-deleted")
    post_save.connect(_job_saved, sender=TrainingJob, dispatch_uid="reports-job-saved")
