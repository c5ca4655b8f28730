"""Django admin for training jobs."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from models_app.models import FoldResult, JobUnit, ModelArtifact, TrainingJob, UtterancePrediction


class JobUnitInline(admin.TabularInline):
    model = JobUnit
    extra = 0
    fields = ("kind", "method", "fold", "status", "progress", "attempts", "error", "heartbeat_at")
    readonly_fields = fields
    can_delete = False


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "corpus",
        "preset",
        "methods",
        "n_folds",
        "seed",
        "status",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "preset", "corpus")
    readonly_fields = (
        "config",
        "results",
        "classes",
        "code_version",
        "error",
        "created_at",
        "started_at",
        "finished_at",
    )
    inlines = [JobUnitInline]


@admin.register(FoldResult)
class FoldResultAdmin(admin.ModelAdmin):
    list_display = ("job", "row", "fold", "metrics")
    list_filter = ("row",)


@admin.register(UtterancePrediction)
class UtterancePredictionAdmin(admin.ModelAdmin):
    list_display = ("job", "row", "fold", "utterance", "true_label", "predicted_label")
    list_filter = ("row", "job")
    list_select_related = ("utterance",)
    raw_id_fields = ("utterance",)


@admin.register(ModelArtifact)
class ModelArtifactAdmin(admin.ModelAdmin):
    list_display = ("job", "method", "download", "created_at")
    readonly_fields = ("download", "job", "method", "path", "config", "feature_config", "classes", "created_at")
    exclude = ()

    def has_add_permission(self, request):
        return False  # written by a job's finalize step only

    @admin.display(description="model file")
    def download(self, obj: ModelArtifact) -> str:
        url = reverse("job-model", args=[obj.job_id, obj.method])
        return format_html('<a href="{}" download>Download {} (zip with model.json)</a>', url, obj.method)
