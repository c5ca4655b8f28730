"""Training jobs: the paper's protocol run by Celery workers, and everything it produces.

A job is split into units so that several workers share it and a redelivered task knows what is
already done: one ``prepare`` unit (features), one ``fold`` unit per (method, fold), and one
``finalize`` unit (aggregation and the final models trained on all labelled utterances).
"""

from django.conf import settings
from django.db import models

from annotation.models import Corpus, Utterance


class TrainingJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    corpus = models.ForeignKey(Corpus, on_delete=models.PROTECT, related_name="training_jobs")
    methods = models.JSONField(help_text="Method names, in the order they run.")
    preset = models.CharField(max_length=20)
    features = models.CharField(
        max_length=20, default="pyaudioanalysis34", help_text="The acoustic feature set the job's methods read."
    )
    device = models.CharField(
        max_length=10, default="auto", help_text="Where the networks train: auto, cpu, cuda or cuda:N."
    )
    config = models.JSONField(help_text="The whole experiment configuration the job ran with.")
    n_folds = models.PositiveSmallIntegerField(default=5)
    seed = models.IntegerField(default=0)
    model_seeds = models.JSONField(
        default=list,
        blank=True,
        help_text="Model seeds run on the folds of `seed` (results: mean over them); empty: one run.",
    )
    classes = models.JSONField(default=list, help_text="The label map: class names in index order.")
    feature_set = models.ForeignKey(
        "models_app.FeatureSet", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    error = models.TextField(blank=True)
    # Pooled results per row name (dummy, framewise, onelabel, ctc, ctc_best_path, ...), written at the end.
    results = models.JSONField(default=dict, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="training_jobs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.corpus.name}, {self.preset}, {self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class JobUnit(models.Model):
    class Kind(models.TextChoices):
        PREPARE = "prepare"
        FOLD = "fold"
        FINALIZE = "finalize"

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="units")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    method = models.CharField(max_length=30, blank=True)
    fold = models.PositiveSmallIntegerField(null=True, blank=True)
    # Relative cost, so the job's progress bar moves in proportion to the work done.
    weight = models.FloatField(default=1.0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    detail = models.JSONField(default=dict, blank=True, help_text="Latest progress detail: epoch, loss, ...")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set when the unit's task is sent, so concurrent steps send it exactly once.
    enqueued = models.BooleanField(default=False)
    # When its task was last sent, and how often: a queued unit that no worker took within its
    # time limit is sent again by the watchdog (models_app/services/jobs.py).
    sent_at = models.DateTimeField(null=True, blank=True)
    send_count = models.PositiveSmallIntegerField(default=0)
    # Times the watchdog re-queued it after its worker went silent (once; the next time it fails).
    requeues = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # The last report (claim and every progress write): a running unit silent for longer than its
    # time limit has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "kind", "method", "fold"], name="unique_job_unit"),
        ]

    def __str__(self) -> str:
        where = f" {self.method} fold {self.fold}" if self.kind == self.Kind.FOLD else ""
        return f"{self.kind}{where} of job {self.job_id}"


class FoldResult(models.Model):
    """Metrics of one row (method or CTC decoder) on one test fold."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="fold_results")
    method = models.CharField(max_length=30, help_text="The method that was trained.")
    row = models.CharField(max_length=30, help_text="The Table 1 row (a CTC decoder is a row of its own).")
    fold = models.PositiveSmallIntegerField()
    metrics = models.JSONField()

    class Meta:
        ordering = ["job", "row", "fold"]
        constraints = [models.UniqueConstraint(fields=["job", "row", "fold"], name="unique_fold_result")]


class UtterancePrediction(models.Model):
    """The out-of-fold prediction of one utterance by one row."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="predictions")
    row = models.CharField(max_length=30)
    fold = models.PositiveSmallIntegerField()
    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="predictions")
    true_label = models.CharField(max_length=30)
    predicted_label = models.CharField(max_length=30, blank=True, help_text="'' = empty CTC decoding.")
    probabilities = models.JSONField(default=list, help_text="Class probabilities in the job's class order.")
    frame_probabilities = models.JSONField(
        null=True, blank=True, help_text="(n_frames, K) per-frame probabilities (framewise, CTC)."
    )
    decoded = models.JSONField(
        null=True, blank=True, help_text="CTC's decoded sequence: [[class, start_frame, end_frame], ...]."
    )

    class Meta:
        ordering = ["job", "row", "utterance"]
        constraints = [models.UniqueConstraint(fields=["job", "row", "utterance"], name="unique_prediction")]


class ModelArtifact(models.Model):
    """A final model trained on all labelled utterances of the corpus, ready for inference."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="artifacts")
    method = models.CharField(max_length=30)
    path = models.CharField(max_length=1000, help_text="Relative to MEDIA_ROOT.")
    config = models.JSONField()
    feature_config = models.JSONField()
    classes = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "method"]
        constraints = [models.UniqueConstraint(fields=["job", "method"], name="unique_artifact")]
