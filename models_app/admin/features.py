"""Django admin of the models app. Feature sets are read-only here: they are written only by
the extraction services (``manage.py extract_features``); the admin may delete one with its files."""

from django.contrib import admin

from models_app.models import FeatureSet
from models_app.services.features import feature_set_delete


@admin.register(FeatureSet)
class FeatureSetAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "corpus",
        "preset",
        "status",
        "n_utterances",
        "n_frames",
        "n_empty",
        "progress",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "preset", "corpus")
    exclude = ("chunks",)  # thousands of ids: not for reading in a form
    readonly_fields = [f.name for f in FeatureSet._meta.fields if f.name not in ("id", "chunks")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="no frames")
    def n_empty(self, obj: FeatureSet) -> int:
        return len(obj.empty_utterances)

    @admin.display(description="progress")
    def progress(self, obj: FeatureSet) -> str:
        return f"{obj.progress_done}/{obj.progress_total}"

    def delete_model(self, request, obj: FeatureSet) -> None:
        feature_set_delete(feature_set=obj)

    def delete_queryset(self, request, queryset) -> None:
        for feature_set in queryset:
            feature_set_delete(feature_set=feature_set)
