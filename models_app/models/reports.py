"""Stored comparison reports (issue 16): the analysis and its figures, computed on a worker when the
inputs change and served at once, with the time of the data they were computed from."""

from django.db import models

from annotation.models import Campaign
from models_app.models.jobs import TrainingJob


class StoredReport(models.Model):
    """The latest computed version of one report (a job, a campaign or both, and a seed).

    ``fingerprint`` names the data the stored version was computed from; ``wanted_fingerprint``
    the data a computation has been asked for. They differ while a newer version is on its way.
    """

    class Status(models.TextChoices):
        IDLE = "idle"  # nothing queued: the stored version (if any) is the latest asked for
        QUEUED = "queued"
        COMPUTING = "computing"
        FAILED = "failed"

    # "<job id or ->:<campaign id or ->:<seed>": one row per report, unique without nullable columns
    key = models.CharField(max_length=80, unique=True)
    job = models.ForeignKey(TrainingJob, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.CASCADE, related_name="reports")
    seed = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.IDLE)
    # The stored version: the analysis (build_comparison's dict), every figure as SVG text, and when.
    report = models.JSONField(null=True, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=200, blank=True)
    as_of = models.DateTimeField(null=True, blank=True, help_text="When the stored version's inputs were read.")
    # The utterance explorer's list ({"rows": [...], "methods": [...], "classes": [...]}, see
    # ser/analysis/explorer.py), stored beside the report so its pages never read every answer.
    explorer = models.JSONField(default=dict, blank=True)
    # Seconds per section of the last computation (inputs, each analysis section, figures, store).
    timings = models.JSONField(default=dict, blank=True)
    # The computation asked for or running: its data, when it may start (the debounce), progress.
    wanted_fingerprint = models.CharField(max_length=200, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    progress_done = models.PositiveSmallIntegerField(default=0)
    progress_total = models.PositiveSmallIntegerField(default=0)
    progress_section = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["campaign"]), models.Index(fields=["job"])]

    def __str__(self) -> str:
        return f"report {self.key} ({self.status})"

    @property
    def is_current(self) -> bool:
        return self.report is not None and self.fingerprint == self.wanted_fingerprint

    @property
    def is_pending(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.COMPUTING)
