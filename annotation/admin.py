from django import forms
from django.contrib import admin, messages

from annotation.models import (
    Assignment,
    Campaign,
    CampaignItem,
    Corpus,
    CorpusImport,
    ExpertVote,
    Judgment,
    Session,
    Speaker,
    Utterance,
)
from annotation.selectors.exports import JUDGMENT_COLUMNS, judgment_rows_of
from annotation.services.campaigns import CampaignSetupError, campaign_plan, campaign_populate, campaign_set_open
from emolab.streaming import CSV, streamed_table


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ("name", "format", "is_synthetic", "classes", "created_at")
    list_filter = ("format", "is_synthetic")
    search_fields = ("name",)
    readonly_fields = ("import_report", "created_at", "updated_at")

    def has_add_permission(self, request):
        # A corpus comes from an import (the New corpus page, the API or manage.py import_corpus),
        # never from an empty form: an empty corpus would show up everywhere with 0 utterances.
        return False


@admin.register(CorpusImport)
class CorpusImportAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "format", "source", "status", "stage", "created_by", "created_at", "finished_at")
    list_filter = ("status", "format", "source")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CorpusImport._meta.fields]

    def has_add_permission(self, request):
        return False  # started from the New corpus page or POST /api/corpora/imports/


@admin.register(Speaker)
class SpeakerAdmin(admin.ModelAdmin):
    list_display = ("code", "corpus", "gender")
    list_filter = ("corpus",)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ("code", "corpus")
    list_filter = ("corpus",)


class ExpertVoteInline(admin.TabularInline):
    model = ExpertVote
    extra = 0


@admin.register(Utterance)
class UtteranceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "corpus",
        "speaker",
        "session",
        "label",
        "rule_label",
        "n_raters",
        "n_dissenting",
        "duration_s",
    )
    list_filter = ("corpus", "label")
    search_fields = ("name", "transcript")
    list_select_related = ("corpus", "speaker", "session")
    readonly_fields = ("public_id",)
    inlines = [ExpertVoteInline]


@admin.register(ExpertVote)
class ExpertVoteAdmin(admin.ModelAdmin):
    list_display = ("utterance", "rater", "categories", "is_self_evaluation")
    list_filter = ("is_self_evaluation", "utterance__corpus")
    search_fields = ("utterance__name", "rater")


# --- Relabelling campaigns ------------------------------------------------------------------------


class CampaignAdminForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = "__all__"
        help_texts = {"classes": 'A JSON list such as ["anger", "neutral"]; [] = the corpus\'s classes.'}

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk is None and cleaned.get("corpus") is not None:
            # Run the service's checks now, so a bad setting shows on the form instead of a crash.
            probe = Campaign(**{k: v for k, v in cleaned.items() if k != "assessors"})
            probe.seed = self.instance.seed
            try:
                campaign_plan(campaign=probe)
            except CampaignSetupError as exc:
                raise forms.ValidationError({exc.field: str(exc)} if exc.field in self.fields else str(exc)) from exc
        return cleaned


class CampaignItemInline(admin.TabularInline):
    model = CampaignItem
    extra = 0
    fields = ("role", "utterance", "public_id", "position", "load")
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    max_num = 0  # items come from the set-up service only

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("utterance")


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignAdminForm
    list_display = (
        "name",
        "corpus",
        "is_open",
        "judgments_per_item",
        "feedback",
        "gold_share",
        "created_by",
        "created_at",
    )
    list_filter = ("is_open", "corpus", "feedback")
    search_fields = ("name",)
    filter_horizontal = ("assessors",)
    readonly_fields = ("setup_notes", "seed", "created_by", "created_at")
    inlines = [CampaignItemInline]
    actions = ["open_campaigns", "close_campaigns"]

    def get_readonly_fields(self, request, obj=None):
        # The item split follows from these; changing them later would not rebuild it.
        fixed = ("corpus", "classes", "warmup_per_class", "gold_share") if obj is not None else ()
        return self.readonly_fields + fixed

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        obj.created_by = request.user
        try:
            campaign_populate(campaign=obj)
        except CampaignSetupError as exc:  # checked in the form's clean(); a race could still land here
            messages.error(request, str(exc))
            raise

    @admin.action(description="Open the selected campaigns")
    def open_campaigns(self, request, queryset):
        for campaign in queryset:
            campaign_set_open(campaign=campaign, is_open=True)

    @admin.action(description="Close the selected campaigns")
    def close_campaigns(self, request, queryset):
        for campaign in queryset:
            campaign_set_open(campaign=campaign, is_open=False)


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "campaign",
        "assessor",
        "utterance",
        "phase",
        "answer",
        "expert_label",
        "is_correct",
        "response_ms",
        "replays",
        "position",
    )
    list_filter = ("campaign", "assessor", "phase", "is_correct")
    search_fields = ("utterance__name", "assessor__username")
    list_select_related = ("campaign", "assessor", "utterance")
    date_hierarchy = "created_at"
    actions = ["export_csv"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Judgment._meta.fields]

    def has_add_permission(self, request):
        return False  # answers come from assessors only

    @admin.action(description="Export the selected judgments (CSV, with user names)")
    def export_csv(self, request, queryset):
        # The same columns as the campaign export (docs/exports.md); admins see user names.
        rows = judgment_rows_of(queryset, identities=True)
        return streamed_table(CSV, JUDGMENT_COLUMNS, rows, filename="judgments-selection")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("campaign", "assessor", "item", "assigned_at", "expires_at", "answered_at")
    list_filter = ("campaign", "assessor")
    list_select_related = ("campaign", "assessor", "item")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Assignment._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CampaignItem)
class CampaignItemAdmin(admin.ModelAdmin):
    list_display = ("public_id", "campaign", "role", "utterance", "position")
    list_filter = ("campaign", "role")
    search_fields = ("utterance__name", "public_id")
    list_select_related = ("campaign", "utterance")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in CampaignItem._meta.fields]

    def has_add_permission(self, request):
        return False  # the set-up service decides the items
