"""Export of a training job's out-of-fold predictions (researchers and admins)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher
from emolab.streaming import export_renderers, export_schema, streamed_table
from models_app.selectors.exports import documented_prediction_columns, prediction_columns, prediction_rows
from models_app.selectors.jobs import training_jobs_visible_to


class JobPredictionsExportView(APIView):
    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsAuthenticated, IsResearcher]
    renderer_classes = export_renderers()

    @extend_schema(
        **export_schema(
            operation_id="export_job_predictions",
            summary="Out-of-fold predictions of a job, one row per utterance and method",
            columns=documented_prediction_columns(),
        )
    )
    def get(self, request, pk: int, file_format: str):
        job = get_object_or_404(training_jobs_visible_to(user=request.user), pk=pk)
        return streamed_table(
            file_format, prediction_columns(job), prediction_rows(job=job), filename=f"job-{job.pk}-predictions"
        )
