"""REST API of the comparison report: researchers and admins read it; assessors get 403."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from emolab.authentication import API_AUTHENTICATION
from emolab.roles import IsResearcher
from models_app.selectors.reports import comparison_report_cached, current_stored_report, report_sources

_PARAMETERS = [
    OpenApiParameter("job", int, description="A training job's id: its out-of-fold predictions give the method rows."),
    OpenApiParameter("campaign", int, description="A relabelling campaign's id: its answers give the human row."),
    OpenApiParameter("seed", int, description="Seed of the bootstrap and of the human majority tie-break (default 0)."),
]


class ComparisonReportView(APIView):
    """Human against model accuracy, confusion, error structure and residual agreement (issue 7).

    At least one of ``job`` and ``campaign`` is required; both must be on the same corpus.
    ``missing`` lists in plain sentences what the report could not compute.
    """

    authentication_classes = API_AUTHENTICATION
    permission_classes = [IsResearcher]

    @extend_schema(
        parameters=_PARAMETERS,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description=(
                    "Keys: classes, rows, corpus, job, campaign, overview, table1 (row name -> overall_accuracy, "
                    "mean_class_accuracy, *_ci 95% bootstrap intervals, *_fold_std), mcnemar, confusion, "
                    "disagreement, residual, human (null without a campaign), missing."
                ),
            ),
            400: OpenApiResponse(
                description="Neither id given, a malformed id, or a job and campaign of different corpora."
            ),
            404: OpenApiResponse(description="Unknown job or campaign."),
        },
    )
    def get(self, request):
        job, campaign, seed = report_sources(params=request.query_params)
        # The stored version when it is current (a worker computed it from these very data), else
        # computed here as before (cached for a minute).
        stored = current_stored_report(job=job, campaign=campaign, seed=seed)
        if stored is not None:
            return Response(stored)
        report = comparison_report_cached(job=job, campaign=campaign, seed=seed)
        return Response(report)
