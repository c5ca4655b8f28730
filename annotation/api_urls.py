"""REST API routes of the annotation app, mounted under /api/."""

from django.urls import path, re_path

from annotation.api.exports import CampaignJudgmentsExportView, CorpusVotesExportView
from annotation.api.imports import CorpusImportCancelView, CorpusImportDetailView, CorpusImportListCreateView
from annotation.api.views import AnswerChangeView, AnswerView, CampaignListCreateView, MyProgressView, NextItemView

EXPORT_FORMAT = r"(?P<file_format>csv|jsonl)"

urlpatterns = [
    path("campaigns/", CampaignListCreateView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>/next/", NextItemView.as_view(), name="api-campaign-next"),
    path("campaigns/<int:campaign_id>/me/", MyProgressView.as_view(), name="api-campaign-me"),
    path("campaigns/<int:campaign_id>/answers/", AnswerView.as_view(), name="api-campaign-answers"),
    path(
        "campaigns/<int:campaign_id>/answers/<uuid:item_id>/change/",
        AnswerChangeView.as_view(),
        name="api-campaign-answer-change",
    ),
    re_path(
        rf"^campaigns/(?P<campaign_id>[0-9]+)/judgments\.{EXPORT_FORMAT}$",
        CampaignJudgmentsExportView.as_view(),
        name="api-campaign-judgments",
    ),
    path("corpora/imports/", CorpusImportListCreateView.as_view(), name="api-corpus-imports"),
    path("corpora/imports/<int:import_id>/", CorpusImportDetailView.as_view(), name="api-corpus-import"),
    path("corpora/imports/<int:import_id>/cancel/", CorpusImportCancelView.as_view(), name="api-corpus-import-cancel"),
    re_path(
        rf"^corpora/(?P<corpus_id>[0-9]+)/votes\.{EXPORT_FORMAT}$",
        CorpusVotesExportView.as_view(),
        name="api-corpus-votes",
    ),
]
