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
