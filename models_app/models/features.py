"""FeatureSet: the paper's 34 frame features of one corpus under one
configuration, whose matrices live on disk (models_app/ser/feature_store.py)."""

from pathlib import Path

from django.conf import settings
from django.db import models

from annotation.models import Corpus


class FeatureSet(models.Model):
    """One corpus under one feature configuration. The numbers live under MEDIA_ROOT/store_path;
    the row says what they are, how far extraction got, and which utterances had no frames.

    Only ``ready`` sets are read; a set that failed or stopped half-way stays ``failed`` or
    ``running`` and is resumed (completed chunks are kept) by the next extraction.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="feature_sets")
    preset = models.CharField(max_length=20, blank=True, help_text="The preset the configuration came from.")
    config = models.JSONField(help_text="The whole FeatureConfig (models_app.ser.features.FeatureConfig.to_dict()).")
    config_hash = models.CharField(max_length=64, help_text="sha256 of the configuration's canonical JSON.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # sha256 over (utterance id, audio sha256) of the utterances planned: a re-imported corpus whose
    # audio changed no longer matches, and its features are extracted again.
    corpus_fingerprint = models.CharField(max_length=64, blank=True)
    # The work, in chunks of utterance ids: [{"key": shard key, "ids": [...]}, ...].
    chunks = models.JSONField(default=list, blank=True)
    progress_done = models.PositiveIntegerField(default=0, help_text="Utterances extracted so far.")
    progress_total = models.PositiveIntegerField(default=0)
    n_utterances = models.PositiveIntegerField(default=0, help_text="Utterances with at least one frame.")
    n_frames = models.PositiveBigIntegerField(default=0, help_text="Frames stored (after frame selection).")
    n_frames_total = models.PositiveBigIntegerField(default=0, help_text="Frames before frame selection.")
    # Utterances left out of experiments because no frame remained: [{"id", "name", "reason"}].
    empty_utterances = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    store_path = models.CharField(max_length=500, help_text="Folder of the matrices, relative to MEDIA_ROOT.")

    class Meta:
        ordering = ["corpus", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["corpus", "config_hash"], name="unique_feature_set_config")]

    def __str__(self) -> str:
        return f"{self.corpus.name} / {self.preset or self.config_hash[:10]} ({self.status})"

    @property
    def store_folder(self) -> Path:
        return Path(settings.MEDIA_ROOT) / self.store_path

    @property
    def progress_fraction(self) -> float:
        return self.progress_done / self.progress_total if self.progress_total else 0.0
