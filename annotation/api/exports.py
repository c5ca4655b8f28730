"""Exports of the raw data: the judgments of a campaign and the expert votes of a corpus.

Researchers and admins only; user names of assessors for admins only (``?identities=1``).
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from annotation.models import Campaign, Corpus
from annotation.selectors.exports import JUDGMENT_COLUMNS, VOTE_COLUMNS, judgment_rows, vote_rows
from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher, is_admin
from emolab.streaming import export_renderers, export_schema, streamed_table

IDENTITIES = OpenApiParameter(
    "identities",
    OpenApiTypes.BOOL,
    description="1: the assessors' user names instead of pseudonyms (admins only; 403 for researchers).",
)


def wants_identities(request) -> bool:
    wanted = request.query_params.get("identities", "").lower() in ("1", "true", "yes")
    if wanted and not is_admin(request.user):
        raise PermissionDenied("Only admins may export the assessors' user names.")
    return wanted


class ExportView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsResearcher]
    renderer_classes = export_renderers()


class CampaignJudgmentsExportView(ExportView):
    @extend_schema(
        **export_schema(
            operation_id="export_campaign_judgments",
            summary="Every answer of a campaign, one row per answer",
            columns=JUDGMENT_COLUMNS,
            extra="Warm-up, scored and gold answers alike; the `phase` column tells them apart.",
            parameters=[IDENTITIES],
        )
    )
    def get(self, request, campaign_id: int, file_format: str):
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        rows = judgment_rows(campaign=campaign, identities=wants_identities(request))
        return streamed_table(file_format, JUDGMENT_COLUMNS, rows, filename=f"campaign-{campaign.pk}-judgments")


class CorpusVotesExportView(ExportView):
    @extend_schema(
        **export_schema(
            operation_id="export_corpus_votes",
            summary="Every expert vote of a corpus, one row per vote, with the consensus label and its rule",
            columns=VOTE_COLUMNS,
        )
    )
    def get(self, request, corpus_id: int, file_format: str):
        corpus = get_object_or_404(Corpus, pk=corpus_id)
        return streamed_table(file_format, VOTE_COLUMNS, vote_rows(corpus=corpus), filename=f"{corpus.name}-votes")
