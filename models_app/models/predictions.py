"""Emotion timelines computed by a Celery worker for one user's upload (POST /api/predict/, the
/timeline/ page). The web process only checks the upload's header and stores it; a worker decodes
it and runs the model (services/predictions.py). Private to their owner; the upload is removed as
soon as the worker is done with it, the row after EMOLAB_PREDICT_KEEP_HOURS."""

from django.conf import settings
from django.db import models


class Prediction(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    class ErrorKind(models.TextChoices):
        RECORDING = "recording"  # the recording itself (damaged, NaN samples, too short): the sender's to fix
        MODEL = "model"  # the model file is missing or broken: an installation problem
        TIME_LIMIT = "time_limit"  # the worker's time limit ran out
        QUEUE = "queue"  # the task could not be handed to the queue
        INTERNAL = "internal"  # anything else (a bug): the log has the traceback

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="predictions")
    job = models.ForeignKey(
        "models_app.TrainingJob", null=True, on_delete=models.SET_NULL, related_name="timeline_predictions"
    )
    artifact = models.ForeignKey(
        "models_app.ModelArtifact", null=True, on_delete=models.SET_NULL, related_name="timeline_predictions"
    )
    # The stored upload, relative to MEDIA_ROOT; empty once the worker is done with it.
    upload = models.CharField(max_length=255, blank=True)
    file_name = models.CharField(max_length=255)
    # What the header says (checked before the row was created).
    file_format = models.CharField(max_length=8)
    sample_rate = models.PositiveIntegerField()
    n_channels = models.PositiveSmallIntegerField()
    duration_s = models.FloatField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    stage = models.CharField(max_length=20, blank=True, help_text="decoding, timeline, figure")
    # The API's body (services.timeline.timeline_payload) and the page's figure, when succeeded.
    result = models.JSONField(null=True, blank=True)
    figure_svg = models.TextField(blank=True)
    error = models.TextField(blank=True)
    error_kind = models.CharField(max_length=12, choices=ErrorKind.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"], name="prediction_owner_status")]

    def __str__(self) -> str:
        return f"prediction {self.pk} ({self.file_name}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status not in self.ACTIVE
