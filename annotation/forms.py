"""The create-campaign form: parses the page's input; the service decides and reports errors."""

from django import forms
from django.contrib.auth.models import User

from annotation.models import CAMPAIGN_DEFAULTS, Campaign, Corpus
from emolab.bounds import column_max


def _split_names(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


class CampaignForm(forms.Form):
    corpus = forms.ModelChoiceField(queryset=Corpus.objects.all(), to_field_name="name", empty_label=None)
    name = forms.CharField(max_length=200)
    classes = forms.CharField(
        required=False,
        help_text="Comma-separated, in button order; a subset of the corpus's classes. Empty = all of them.",
    )
    judgments_per_item = forms.IntegerField(
        label="Judgments per utterance",
        min_value=1,
        max_value=100,
        initial=CAMPAIGN_DEFAULTS.judgments_per_item,
        help_text="Assessors per utterance (the paper: at least 2).",
    )
    feedback = forms.BooleanField(
        label="Show the expert label after each answer",
        required=False,
        initial=CAMPAIGN_DEFAULTS.feedback,
        help_text="Warm-up items always show it (the paper showed it after every answer).",
    )
    warmup_per_class = forms.IntegerField(
        label="Warm-up examples per class",
        min_value=0,
        max_value=20,
        initial=CAMPAIGN_DEFAULTS.warmup_per_class,
        help_text="Warm-up examples per class, picked among utterances all experts agree on (the paper: 2).",
    )
    warmup_utterances = forms.CharField(
        label="Warm-up utterances (by hand)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Or name the warm-up utterances yourself (one per line); empty = picked automatically.",
    )
    assessors = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        to_field_name="username",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked = every member of the assessor group.",
    )
    items_per_assessor = forms.IntegerField(
        label="Scored items per assessor",
        min_value=1,
        max_value=column_max(Campaign, "items_per_assessor"),
        required=False,
        help_text="Empty = no limit. Warm-up and gold items come on top.",
    )
    replay_limit = forms.IntegerField(
        min_value=0, max_value=100, required=False, help_text="Replays after the first play; empty = no limit."
    )
    gold_share = forms.FloatField(
        min_value=0.0,
        max_value=CAMPAIGN_DEFAULTS.max_gold_share,
        initial=CAMPAIGN_DEFAULTS.gold_share,
        help_text="Share of each assessor's scored trials that are hidden unanimous gold items (0 = none).",
    )
    exclude_seen_elsewhere = forms.BooleanField(
        label="Skip utterances an assessor already saw labelled",
        required=False,
        initial=CAMPAIGN_DEFAULTS.exclude_seen_elsewhere,
        help_text="Do not give an assessor an utterance whose expert label they were shown in another campaign.",
    )

    instructions = forms.CharField(
        required=False,
        max_length=CAMPAIGN_DEFAULTS.max_instructions_chars,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Shown to assessors before the warm-up. Markdown (**bold**, lists, links); no raw HTML.",
    )
    class_definitions = forms.CharField(
        label="Class definitions",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line, 'class: what it means' (e.g. 'anger: raised, tense voice').",
    )
    allow_cant_tell = forms.BooleanField(
        label='Offer a "can\'t tell" answer',
        required=False,
        initial=CAMPAIGN_DEFAULTS.allow_cant_tell,
        help_text="Stored as its own kind of answer, never counted as a wrong label.",
    )
    min_listen_fraction = forms.FloatField(
        label="Listen before answering (share of the clip)",
        required=False,
        min_value=0.0,
        max_value=1.0,
        initial=CAMPAIGN_DEFAULTS.min_listen_fraction,
        help_text="1 = the whole clip must have played once before an answer is accepted; 0 = no rule.",
    )
    break_every = forms.IntegerField(
        label="Break every N items",
        required=False,
        min_value=0,
        max_value=10_000,
        initial=CAMPAIGN_DEFAULTS.break_every,
        help_text="A pause screen with the assessor's progress every N items; 0 = never.",
    )

    # Left empty: the default (a form posted by a script of before these fields keeps working).
    def clean_min_listen_fraction(self) -> float:
        value = self.cleaned_data["min_listen_fraction"]
        return CAMPAIGN_DEFAULTS.min_listen_fraction if value is None else value

    def clean_break_every(self) -> int:
        value = self.cleaned_data["break_every"]
        return CAMPAIGN_DEFAULTS.break_every if value is None else value

    def clean_class_definitions(self) -> dict[str, str]:
        definitions = {}
        for number, line in enumerate(self.cleaned_data["class_definitions"].splitlines(), start=1):
            if not line.strip():
                continue
            name, colon, text = line.partition(":")
            if not colon or not name.strip():
                raise forms.ValidationError(f"line {number}: write 'class: definition'")
            definitions[name.strip()] = text.strip()
        return definitions

    def clean_classes(self) -> list[str]:
        return _split_names(self.cleaned_data["classes"])

    def clean_warmup_utterances(self) -> list[str]:
        return _split_names(self.cleaned_data["warmup_utterances"])


class CorpusImportForm(forms.Form):
    """The New corpus page: an archive to upload, or a folder on the server (when allowed)."""

    name = forms.CharField(max_length=100, help_text="Letters, digits, '_', '.', '-'; e.g. emodb.")
    format = forms.ChoiceField(
        choices=[
            ("emodb", "Berlin EmoDB"),
            ("ravdess", "RAVDESS"),
            ("iemocap", "IEMOCAP"),
            ("manifest", "CSV manifest"),
        ]
    )
    archive = forms.FileField(required=False, help_text="A zip or tar.gz of the corpus's folder.")
    folder = forms.CharField(required=False, max_length=1000, help_text="Or an absolute folder on the server.")
    manifest = forms.CharField(
        required=False, max_length=255, help_text="CSV manifest only: its path in the folder (default: the only .csv)."
    )
