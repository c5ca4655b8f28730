"""Corpora of emotional speech with expert votes.

A Session is the recording group used for cross-validation: in IEMOCAP one session is one pair
of speakers (the paper's folds); corpora without sessions get one session per speaker.
"""

import uuid
from pathlib import Path

from django.core.validators import RegexValidator
from django.db import models

corpus_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
    "Letters, digits, '_', '.' and '-' only, starting with a letter or digit.",
)


class Corpus(models.Model):
    class Format(models.TextChoices):
        IEMOCAP = "iemocap", "IEMOCAP"
        EMODB = "emodb", "Berlin EmoDB"
        RAVDESS = "ravdess", "RAVDESS"
        MANIFEST = "manifest", "CSV manifest"
        DEMO = "demo", "Synthesized demo corpus"

    name = models.CharField(max_length=100, unique=True, validators=[corpus_name_validator])
    format = models.CharField(max_length=20, choices=Format.choices)
    # Absolute folder the audio paths are relative to (the imported release, or MEDIA_ROOT/corpora/<name>).
    source_path = models.CharField(max_length=1000)
    # The class set in a stable order: the order of every probability vector and confusion matrix.
    classes = models.JSONField(default=list)
    description = models.TextField(blank=True)
    is_synthetic = models.BooleanField(default=False)
    # Last import: counts, skipped files with reasons, changed files, rule mismatches.
    import_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "corpora"

    def __str__(self) -> str:
        return self.name

    @property
    def root(self) -> Path:
        return Path(self.source_path)


class Speaker(models.Model):
    class Gender(models.TextChoices):
        FEMALE = "F", "female"
        MALE = "M", "male"
        UNKNOWN = "", "unknown"

    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="speakers")
    code = models.CharField(max_length=100)
    gender = models.CharField(max_length=1, choices=Gender.choices, blank=True)

    class Meta:
        ordering = ["corpus", "code"]
        constraints = [models.UniqueConstraint(fields=["corpus", "code"], name="unique_speaker_code")]

    def __str__(self) -> str:
        return f"{self.corpus.name}:{self.code}"


class Session(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="sessions")
    code = models.CharField(max_length=100)

    class Meta:
        ordering = ["corpus", "code"]
        constraints = [models.UniqueConstraint(fields=["corpus", "code"], name="unique_session_code")]

    def __str__(self) -> str:
        return f"{self.corpus.name}:{self.code}"


class Utterance(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.CASCADE, related_name="utterances")
    # The corpus's own id (``Ses01F_impro01_F000``, ``03a01Wa``). It can encode the emotion, so it
    # never reaches an assessor's browser: ``public_id`` is the opaque handle used there.
    name = models.CharField(max_length=255)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    speaker = models.ForeignKey(Speaker, on_delete=models.PROTECT, related_name="utterances")
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="utterances")
    audio_path = models.CharField(max_length=1000, help_text="Relative to the corpus's source path.")
    audio_sha256 = models.CharField(max_length=64)
    duration_s = models.FloatField()
    sample_rate = models.PositiveIntegerField()
    n_channels = models.PositiveSmallIntegerField(default=1)
    transcript = models.TextField(blank=True)
    start_s = models.FloatField(null=True, blank=True, help_text="Start in the longer recording it was cut from.")
    end_s = models.FloatField(null=True, blank=True)
    # The label every experiment and report uses ('' = no consensus). For IEMOCAP it is the corpus's
    # own header code (what the paper used); elsewhere the given label or the half-of-raters rule.
    label = models.CharField(max_length=30, blank=True, db_index=True)
    # The raw label as the corpus spells it (IEMOCAP ``exc``/``xxx``, EmoDB ``W``, RAVDESS ``05``).
    source_label = models.CharField(max_length=30, blank=True)
    # What the paper's rule gives from the expert votes ('' = none or no votes), kept to check the corpus.
    rule_label = models.CharField(max_length=30, blank=True)
    n_raters = models.PositiveSmallIntegerField(default=0, help_text="Expert raters (self-evaluations excluded).")
    n_dissenting = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Expert raters whose vote does not include the label."
    )
    # Known emotion spans inside the utterance, [{"start": s, "end": s, "emotion": name}], when a
    # corpus records them (the demo corpus's long utterances); the CTC timeline is checked against them.
    emotion_spans = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["corpus", "name"]
        constraints = [models.UniqueConstraint(fields=["corpus", "name"], name="unique_utterance_name")]
        indexes = [models.Index(fields=["corpus", "label"])]

    def __str__(self) -> str:
        return self.name

    @property
    def audio_file(self) -> Path:
        return self.corpus.root / self.audio_path


class ExpertVote(models.Model):
    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="votes")
    rater = models.CharField(max_length=50)
    categories = models.JSONField(help_text="Canonical emotion names; a rater may choose several.")
    is_self_evaluation = models.BooleanField(default=False)

    class Meta:
        ordering = ["utterance", "rater"]
        constraints = [models.UniqueConstraint(fields=["utterance", "rater"], name="unique_vote_per_rater")]

    def __str__(self) -> str:
        return f"{self.rater}: {', '.join(self.categories)}"
