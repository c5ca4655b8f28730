from django.contrib import admin

from annotation.models import Corpus, ExpertVote, Session, Speaker, Utterance


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = ("name", "format", "is_synthetic", "classes", "created_at")
    list_filter = ("format", "is_synthetic")
    search_fields = ("name",)
    readonly_fields = ("import_report", "created_at", "updated_at")


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
    list_display = ("name", "corpus", "speaker", "session", "label", "rule_label", "n_raters", "n_dissenting", "duration_s")
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
