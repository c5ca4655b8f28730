"""Corpus imports: start one (an archive or a server folder), follow it, cancel it.
Researchers and admins only."""

from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.importers.formats import FORMATS
from annotation.models import CorpusImport
from annotation.services.corpus_imports import corpus_import_cancel, corpus_import_request
from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher

COUNT_KEYS = ("created", "updated", "unchanged", "n_utterances", "n_speakers", "n_sessions")


class CorpusImportCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="The corpus's name (letters, digits, '_', '.', '-').")
    format = serializers.ChoiceField(choices=sorted(FORMATS))
    archive = serializers.FileField(required=False, help_text="A zip or tar.gz of the corpus's folder.")
    folder = serializers.CharField(
        required=False, allow_blank=True, help_text="Or an absolute folder on the server, inside EMOLAB_IMPORT_ROOTS."
    )
    manifest = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="format manifest: the CSV's path in the folder (default: the only .csv).",
    )


class CorpusImportSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="0..1")
    counts = serializers.SerializerMethodField()
    skipped = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()
    corpus = serializers.CharField(source="corpus.name", default=None)
    page = serializers.SerializerMethodField()

    class Meta:
        model = CorpusImport
        fields = [
            "id", "name", "format", "source", "upload_name", "folder", "manifest", "status", "stage", "progress",
            "progress_done", "progress_total", "cancel_requested", "counts", "skipped", "warnings", "error",
            "corpus", "page", "created_at", "started_at", "finished_at",
        ]  # fmt: skip

    def get_counts(self, job) -> dict:
        return {key: job.report[key] for key in COUNT_KEYS if key in job.report}

    def get_skipped(self, job) -> list[dict]:
        """Files left out, each with its reason."""
        return job.report.get("skipped", [])

    def get_warnings(self, job) -> list[str]:
        return job.report.get("warnings", [])

    def get_page(self, job) -> str:
        return reverse("annotation:corpus_import", args=[job.pk])


class CorpusImportListCreateView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsResearcher]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="Corpus imports, the newest first", responses={200: CorpusImportSerializer(many=True)})
    def get(self, request):
        return Response(CorpusImportSerializer(CorpusImport.objects.select_related("corpus")[:100], many=True).data)

    @extend_schema(
        summary="Import a corpus: an uploaded zip/tar.gz or a folder on the server (researchers and admins)",
        description=(
            "Checks the archive (no '..', absolute paths, links or special files; size and file count bounded by "
            "EMOLAB_IMPORT_MAX_BYTES and EMOLAB_IMPORT_MAX_FILES; some audio) or the folder (inside "
            "EMOLAB_IMPORT_ROOTS, symlinks resolved) and answers 400 with the reason, or 201 with the queued "
            "import. Follow it at GET /api/corpora/imports/{id}/."
        ),
        request={"multipart/form-data": CorpusImportCreateSerializer},
        responses={201: CorpusImportSerializer, 400: None, 401: None, 403: None},
    )
    def post(self, request):
        params = CorpusImportCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        job = corpus_import_request(
            user=request.user,
            name=data["name"],
            format=data["format"],
            upload=data.get("archive"),
            folder=data.get("folder", ""),
            manifest=data.get("manifest", ""),
        )  # ImportRequestError answers 400 (emolab/errors.py)
        return Response(CorpusImportSerializer(job).data, status=status.HTTP_201_CREATED)


class CorpusImportDetailView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsResearcher]

    @extend_schema(
        summary="An import's status, progress, counts and skipped files", responses={200: CorpusImportSerializer}
    )
    def get(self, request, import_id: int):
        return Response(CorpusImportSerializer(get_object_or_404(CorpusImport, pk=import_id)).data)


class CorpusImportCancelView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsResearcher]

    @extend_schema(
        summary="Cancel an import: nothing of it is kept",
        request=None,
        responses={200: CorpusImportSerializer, 409: None},
    )
    def post(self, request, import_id: int):
        job = corpus_import_cancel(corpus_import=get_object_or_404(CorpusImport, pk=import_id))
        return Response(CorpusImportSerializer(job).data)
