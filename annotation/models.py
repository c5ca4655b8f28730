"""Corpora of emotional speech with expert votes.

A Session is the recording group used for cross-validation: in IEMOCAP one session is one pair
of speakers (the paper's folds); corpora without sessions get one session per speaker.
"""

import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

corpus_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$",
    "Letters, digits, '_', '.' and '-' only, starting with a letter or digit.",
)


def _random_seed() -> int:
    return secrets.randbits(62)


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


# --- Relabelling campaigns (paper, section 4.6) ---------------------------------------------------
# Assessors listen to utterances and choose an emotion; after each answer they may see the expert
# label. The services in annotation/services/campaigns.py and judgments.py are the only writers.


@dataclass(frozen=True)
class CampaignDefaults:
    """Every default of a relabelling campaign, with the reason for it."""

    # Paper 4.6: "each utterance was assessed by at least 2 assessors".
    judgments_per_item: int = 2
    # Paper 4.6: "2 from each emotion, 8 in total" were given first as training examples.
    warmup_per_class: int = 2
    # Paper 4.6: "there is a possibility to see the correct answer after one gives own answer".
    feedback: bool = True
    # The paper had no hidden control items; MSP-Podcast's annotation did. Off unless asked for.
    gold_share: float = 0.0
    # At most half the trials are gold, so the scored pool still dominates an assessor's work.
    max_gold_share: float = 0.5
    # An item fetched and not answered is freed after this long (a closed tab, a coffee break),
    # so an abandoned reservation does not keep an utterance below its target for ever.
    reservation_minutes: int = 30
    # An answer more than an hour after the first play is not a response time; refuse it.
    max_response_ms: int = 3_600_000
    # Warm-up examples should be ones the experts agreed on: at least this many raters, none dissenting.
    unanimous_min_raters: int = 2
    # An assessor who was shown an utterance's expert label (warm-up, or feedback on) in one campaign
    # would answer it from memory in the next: such utterances are not given to them again.
    exclude_seen_elsewhere: bool = True
    # Listening tests (ITU-R BS.1534, P.800) let a listener say they cannot decide rather than guess;
    # off unless the researcher asks, so the paper's forced choice stays the default.
    allow_cant_tell: bool = False
    # The whole clip must have played once before an answer is taken: in one trial run the median
    # response time was 23-30 ms, which no listener can do. 0 turns the rule off.
    min_listen_fraction: float = 1.0
    # Slack for the listening rule's timing: the clock of the page and the start of the sound differ
    # by a few tens of milliseconds; at most a tenth of the clip, so short clips keep a real rule.
    listen_slack_s: float = 0.25
    listen_slack_share: float = 0.1
    # Played shares are measured in small bins of the clip; the last one may be cut short.
    played_fraction_tolerance: float = 0.02
    # A pause is offered every 50 items (a few minutes of listening); 0 = never.
    break_every: int = 50
    # Longest text a researcher can give as instructions (a page or two of Markdown).
    max_instructions_chars: int = 20_000


CAMPAIGN_DEFAULTS = CampaignDefaults()


class Campaign(models.Model):
    corpus = models.ForeignKey(Corpus, on_delete=models.PROTECT, related_name="campaigns")
    name = models.CharField(max_length=200)
    # The answer buttons, in this order; a subset of the corpus's classes (default: all of them).
    classes = models.JSONField(default=list, blank=True)
    judgments_per_item = models.PositiveSmallIntegerField(
        default=CAMPAIGN_DEFAULTS.judgments_per_item, validators=[MinValueValidator(1)]
    )
    warmup_per_class = models.PositiveSmallIntegerField(default=CAMPAIGN_DEFAULTS.warmup_per_class)
    feedback = models.BooleanField(
        default=CAMPAIGN_DEFAULTS.feedback,
        help_text="Show the expert label after each main answer (warm-up always shows it).",
    )
    items_per_assessor = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Main items per assessor; empty = no limit."
    )
    replay_limit = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Replays allowed after the first play; empty = no limit."
    )
    gold_share = models.FloatField(
        default=CAMPAIGN_DEFAULTS.gold_share,
        validators=[MinValueValidator(0.0), MaxValueValidator(CAMPAIGN_DEFAULTS.max_gold_share)],
        help_text="Share of an assessor's scored trials that are hidden gold items (0 = none).",
    )
    is_open = models.BooleanField(default=True)
    # Shown before the warm-up and reachable from the trial page; Markdown, rendered sanitised
    # (annotation/instructions.py).
    instructions = models.TextField(blank=True, max_length=CAMPAIGN_DEFAULTS.max_instructions_chars)
    # {class: what it means}, shown with the instructions.
    class_definitions = models.JSONField(default=dict, blank=True)
    allow_cant_tell = models.BooleanField(
        default=CAMPAIGN_DEFAULTS.allow_cant_tell,
        help_text='Offer a "can\'t tell" answer; it is stored as such and counted apart from the labels.',
    )
    min_listen_fraction = models.FloatField(
        default=CAMPAIGN_DEFAULTS.min_listen_fraction,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of the clip that must have played before an answer is accepted (0 = no rule).",
    )
    break_every = models.PositiveIntegerField(
        default=CAMPAIGN_DEFAULTS.break_every, help_text="Offer a break every N items (0 = never)."
    )
    exclude_seen_elsewhere = models.BooleanField(
        default=CAMPAIGN_DEFAULTS.exclude_seen_elsewhere,
        help_text="Do not give an assessor an utterance whose expert label they were shown in another campaign.",
    )
    # None named = every member of the assessor group may work on it.
    assessors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="assigned_campaigns")
    # Seeds each assessor's own order of the pool and the automatic warm-up pick, so both can be replayed.
    seed = models.BigIntegerField(default=_random_seed, editable=False)
    # What setting the campaign up had to decide (a class with too few unanimous warm-up examples...).
    setup_notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="created_campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "name"]
        constraints = [models.UniqueConstraint(fields=["corpus", "name"], name="unique_campaign_name_per_corpus")]

    def __str__(self) -> str:
        return f"{self.name} ({self.corpus.name})"


# The answer that says "I cannot decide": never a class name (class names are the corpus's labels).
CANT_TELL = "cant_tell"


class InstructionsConfirmation(models.Model):
    """An assessor confirmed having read a campaign's instructions (once; the trial waits for it)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="confirmations")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    confirmed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "assessor"], name="unique_confirmation")]


class CampaignItem(models.Model):
    class Role(models.TextChoices):
        WARMUP = "warmup", "warm-up"
        MAIN = "main", "main"
        GOLD = "gold", "gold (hidden)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="items")
    utterance = models.ForeignKey(Utterance, on_delete=models.PROTECT, related_name="campaign_items")
    role = models.CharField(max_length=10, choices=Role.choices)
    # The only handle an assessor's browser sees (URLs, API, audio). Fresh per campaign, so one
    # campaign's ids say nothing about another's, and never derived from the utterance's name.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Warm-up items are shown in this order to everyone; unused for other roles.
    position = models.PositiveIntegerField(default=0)
    # Main items: judgments recorded + reservations counted against the target (Assignment.counted).
    # Changed only by a conditional UPDATE on this row, so two requests can never both take the last
    # place (annotation/services/judgments.py); always 0 for warm-up and gold items.
    load = models.PositiveIntegerField(default=0)
    # A seeded random number in [0, 2**31 - 1): the keys form a circle that each assessor walks from
    # a starting point of their own, their own order of the pool (annotation.selectors.campaigns).
    shuffle_key = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "role", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "utterance"], name="unique_item_per_campaign")]
        # The choice of the next item: one range of this index per load level, in key order.
        indexes = [models.Index(fields=["campaign", "role", "load", "shuffle_key"], name="annotation_item_choice")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.role}:{self.public_id}"


class Assignment(models.Model):
    """An item handed to one assessor: reserved until answered or until it expires."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(CampaignItem, on_delete=models.CASCADE, related_name="assignments")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments")
    assigned_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    # True while this reservation of a main item counts in the item's load: from the hand-out until
    # it is answered (the judgment counts instead) or released after it expired.
    counted = models.BooleanField(default=False)

    class Meta:
        ordering = ["campaign", "assessor", "assigned_at"]
        constraints = [models.UniqueConstraint(fields=["assessor", "item"], name="unique_assignment_per_assessor")]
        indexes = [
            models.Index(fields=["campaign", "answered_at", "expires_at"]),
            # The expiry sweep: counted reservations of a campaign by expiry (few rows, so partial).
            models.Index(
                fields=["campaign", "expires_at"], condition=models.Q(counted=True), name="annotation_counted_expiry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assessor_id} <- {self.item}"


class JudgmentQuerySet(models.QuerySet):
    def scored(self):
        """Answers that count in the statistics: main items only (warm-up and gold left out)."""
        return self.filter(phase=CampaignItem.Role.MAIN)

    def gold(self):
        return self.filter(phase=CampaignItem.Role.GOLD)

    def labelled(self):
        """Answers that name a class: "can't tell" answers are neither right nor wrong."""
        return self.exclude(answer=CANT_TELL)


class Judgment(models.Model):
    """One assessor's answer for one utterance of a campaign."""

    # PROTECT: a campaign with answers cannot be deleted by a slip in the admin; close it instead.
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="judgments")
    item = models.ForeignKey(CampaignItem, on_delete=models.PROTECT, related_name="judgments")
    # Repeats item.utterance so the one-answer-per-utterance rule is a database constraint.
    utterance = models.ForeignKey(Utterance, on_delete=models.PROTECT, related_name="judgments")
    assessor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="judgments")
    answer = models.CharField(max_length=30)
    # The item's role when answered: warm-up and gold answers are left out of the human statistics.
    phase = models.CharField(max_length=10, choices=CampaignItem.Role.choices)
    # The utterance's label when the answer was given, kept so a later re-import cannot rewrite history.
    expert_label = models.CharField(max_length=30)
    is_correct = models.BooleanField()
    response_ms = models.PositiveIntegerField(help_text="From the first play to the answer.")
    replays = models.PositiveSmallIntegerField(default=0, help_text="Plays after the first.")
    # 1 for this assessor's first answer in the campaign, 2 for the next...: does feedback teach?
    position = models.PositiveIntegerField()
    # Whether the answer was followed by the expert label (warm-up, or the campaign gave feedback):
    # such an utterance is not given to this assessor in another campaign (Campaign.exclude_seen_elsewhere).
    label_shown = models.BooleanField(default=False)
    # Share of the clip the browser played before the answer (distinct parts, 0..1); null when the
    # client did not say (an API client of before the listening rule).
    played_fraction = models.FloatField(null=True, blank=True)
    # Undo: ``answer`` is the final answer; the first one and the time of the change are kept. The
    # response time stays the time to the first answer.
    first_answer = models.CharField(max_length=30, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = JudgmentQuerySet.as_manager()

    class Meta:
        ordering = ["campaign", "assessor", "position"]
        constraints = [
            models.UniqueConstraint(fields=["assessor", "campaign", "utterance"], name="unique_judgment_per_assessor")
        ]
        indexes = [
            models.Index(fields=["campaign", "phase"]),
            models.Index(fields=["assessor", "utterance"], name="annotation_judgment_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.assessor_id} said {self.answer} ({self.phase})"

    @property
    def is_warmup(self) -> bool:
        return self.phase == CampaignItem.Role.WARMUP

    @property
    def is_cant_tell(self) -> bool:
        return self.answer == CANT_TELL

    @property
    def was_changed(self) -> bool:
        return self.changed_at is not None


class CorpusImport(models.Model):
    """A corpus import started from the browser or the API, run by a Celery task
    (annotation/services/corpus_imports.py). Until it has succeeded there is no corpus: the
    import writes its corpus in one transaction at the end, and a failed or cancelled import
    removes the files it unpacked."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    class Source(models.TextChoices):
        UPLOAD = "upload", "uploaded archive"
        FOLDER = "folder", "folder on the server"

    name = models.CharField(max_length=100, validators=[corpus_name_validator], help_text="The corpus's name.")
    format = models.CharField(max_length=20, choices=Corpus.Format.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    # An upload: its file under MEDIA_ROOT (private, removed when the import ends) and its name.
    upload_path = models.CharField(max_length=500, blank=True)
    upload_name = models.CharField(max_length=255, blank=True)
    # A server folder: its resolved path, inside one of settings.EMOLAB_IMPORT_ROOTS.
    folder = models.CharField(max_length=1000, blank=True)
    # A manifest's CSV file, relative to the release folder ('' = the only .csv there).
    manifest = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=30, blank=True, help_text="unpacking, reading audio, writing")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # The import service's report (counts, skipped files with reasons, warnings) once it has run.
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    corpus = models.ForeignKey(Corpus, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="corpus_imports"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress(self) -> float:
        """0..1 over the two long stages: unpacking (first half, uploads only) and reading audio."""
        fraction = self.progress_done / self.progress_total if self.progress_total else 0.0
        if self.status == self.Status.SUCCEEDED:
            return 1.0
        if self.source == self.Source.UPLOAD:
            return 0.5 * fraction if self.stage == "unpacking" else 0.5 + 0.5 * fraction if self.stage else 0.0
        return fraction
