"""Request and response shapes of the campaign API. Nothing here reads an expert label: the only
label a response carries is the feedback after an answer, put there by the answer view."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.models import CAMPAIGN_DEFAULTS, Campaign, Corpus, Judgment
from emolab.bounds import column_max


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    field = serializers.CharField(required=False, help_text="The setting at fault, when there is one.")


class CampaignCreateSerializer(serializers.Serializer):
    corpus = serializers.SlugRelatedField(slug_field="name", queryset=Corpus.objects.all())
    name = serializers.CharField(max_length=200)
    judgments_per_item = serializers.IntegerField(
        min_value=1, max_value=100, default=CAMPAIGN_DEFAULTS.judgments_per_item
    )
    feedback = serializers.BooleanField(default=CAMPAIGN_DEFAULTS.feedback)
    assessors = serializers.ListField(
        child=serializers.CharField(max_length=150),
        required=False,
        default=list,
        help_text="Usernames; empty = every member of the assessor group.",
    )
    classes = serializers.ListField(
        child=serializers.CharField(max_length=30),
        required=False,
        default=list,
        help_text="A subset of the corpus's classes, in button order; empty = all of them.",
    )
    items_per_assessor = serializers.IntegerField(
        min_value=1,
        max_value=column_max(Campaign, "items_per_assessor"),
        required=False,
        allow_null=True,
        default=None,
    )
    replay_limit = serializers.IntegerField(min_value=0, max_value=100, required=False, allow_null=True, default=None)
    gold_share = serializers.FloatField(
        min_value=0.0, max_value=CAMPAIGN_DEFAULTS.max_gold_share, default=CAMPAIGN_DEFAULTS.gold_share
    )
    warmup_per_class = serializers.IntegerField(min_value=0, max_value=20, default=CAMPAIGN_DEFAULTS.warmup_per_class)
    warmup_utterances = serializers.ListField(
        child=serializers.CharField(max_length=255),
        required=False,
        default=list,
        help_text="Utterance names to use as warm-up examples; empty = picked automatically.",
    )
    exclude_seen_elsewhere = serializers.BooleanField(
        default=CAMPAIGN_DEFAULTS.exclude_seen_elsewhere,
        help_text="Do not give an assessor an utterance whose expert label they were shown in another campaign.",
    )
    instructions = serializers.CharField(
        max_length=CAMPAIGN_DEFAULTS.max_instructions_chars,
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text="Markdown shown to assessors before the warm-up (rendered sanitised: no raw HTML, no scripts).",
    )
    class_definitions = serializers.DictField(
        child=serializers.CharField(max_length=1000, allow_blank=True),
        required=False,
        default=dict,
        help_text="{class: what it means}, shown with the instructions.",
    )
    allow_cant_tell = serializers.BooleanField(
        default=CAMPAIGN_DEFAULTS.allow_cant_tell,
        help_text='Offer a "can\'t tell" answer (label "cant_tell"), counted apart from the labels.',
    )
    min_listen_fraction = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        default=CAMPAIGN_DEFAULTS.min_listen_fraction,
        help_text="Share of the clip that must have played before an answer is accepted; 0 = no rule.",
    )
    break_every = serializers.IntegerField(
        min_value=0,
        max_value=10_000,
        default=CAMPAIGN_DEFAULTS.break_every,
        help_text="Offer a break every N items; 0 = never.",
    )


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class CampaignSerializer(serializers.ModelSerializer):
    corpus = serializers.CharField(source="corpus.name")
    # Not read-only in the schema's sense, so that it is optional there: assessors never get it.
    gold_share = serializers.FloatField(
        required=False, help_text="Researchers and admins only: assessors are told nothing about hidden gold items."
    )
    assessors = serializers.SerializerMethodField()
    setup_notes = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField(help_text="Your own progress; null if you do not label in it.")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "corpus",
            "classes",
            "judgments_per_item",
            "feedback",
            "items_per_assessor",
            "replay_limit",
            "gold_share",
            "exclude_seen_elsewhere",
            "instructions",
            "class_definitions",
            "allow_cant_tell",
            "min_listen_fraction",
            "break_every",
            "is_open",
            "assessors",
            "setup_notes",
            "created_at",
            "progress",
        ]
        read_only_fields = fields

    def to_representation(self, campaign):
        data = super().to_representation(campaign)
        if not self.context.get("can_manage"):
            del data["gold_share"]
        return data

    def get_assessors(self, campaign) -> list[str]:
        # Researchers see whom a campaign names; assessors need not know who else labels.
        if not self.context.get("can_manage"):
            return []
        return sorted(user.username for user in campaign.assessors.all())

    def get_setup_notes(self, campaign) -> list[str]:
        # Notes talk about the corpus's labels and agreement: for researchers only.
        return list(campaign.setup_notes) if self.context.get("can_manage") else []

    @extend_schema_field(ProgressSerializer(allow_null=True))
    def get_progress(self, campaign):
        state = self.context.get("states", {}).get(campaign.pk)
        return None if state is None else {"done": state.done, "total": state.total}


class ItemSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="Opaque id of this item in this campaign.")
    audio_url = serializers.CharField()
    duration = serializers.FloatField(help_text="Seconds.")
    phase = serializers.ChoiceField(choices=["warmup", "main"])


class NextItemSerializer(serializers.Serializer):
    item = ItemSerializer(allow_null=True, help_text="null when you are finished.")
    classes = serializers.ListField(child=serializers.CharField())
    progress = ProgressSerializer()


class AnswerSerializer(serializers.Serializer):
    item = serializers.UUIDField()
    label = serializers.CharField(
        max_length=30, help_text='One of the campaign\'s classes, or "cant_tell" where the campaign allows it.'
    )
    response_ms = serializers.IntegerField(
        min_value=0,
        max_value=column_max(Judgment, "response_ms"),
        help_text="Milliseconds from the first play to the answer.",
    )
    replays = serializers.IntegerField(
        min_value=0, max_value=column_max(Judgment, "replays"), default=0, help_text="Plays after the first."
    )
    played_fraction = serializers.FloatField(
        min_value=0.0,
        max_value=1.0,
        required=False,
        allow_null=True,
        default=None,
        help_text="Share of the clip played before the answer (distinct parts, 0..1), as the browser measured it.",
    )


class WarmupProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class MyProgressSerializer(serializers.Serializer):
    answered = serializers.IntegerField(help_text="Items answered, warm-up included.")
    remaining = serializers.IntegerField()
    total = serializers.IntegerField()
    warmup = WarmupProgressSerializer()
    scored = serializers.IntegerField(help_text='Answers that count, "can\'t tell" included.')
    cant_tell = serializers.IntegerField()
    changed = serializers.IntegerField(help_text="Answers you changed before going on.")
    agreement = serializers.FloatField(
        allow_null=True, help_text="Share of your labelled scored answers matching the experts; null without feedback."
    )
    instructions_confirmed = serializers.BooleanField()
    is_open = serializers.BooleanField()


class AnswerChangeSerializer(serializers.Serializer):
    label = serializers.CharField(
        max_length=30, help_text='The new answer: a class, or "cant_tell" where the campaign allows it.'
    )


class AnswerResultSerializer(serializers.Serializer):
    item = serializers.UUIDField()
    correct = serializers.BooleanField(
        required=False, help_text="Only when the campaign gives feedback (always in warm-up)."
    )
    expert_label = serializers.CharField(
        required=False, help_text="Only when the campaign gives feedback (always in warm-up)."
    )
