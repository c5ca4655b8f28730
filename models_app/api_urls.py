"""REST API routes of the models app, mounted under /api/."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from models_app.api.exports import JobPredictionsExportView
from models_app.api.jobs import JobViewSet
from models_app.api.predict import PredictionView, PredictView
from models_app.api.reports import ComparisonReportView

router = SimpleRouter()
router.register("jobs", JobViewSet, basename="job")

urlpatterns = [
    *router.urls,
    re_path(
        r"^jobs/(?P<pk>[0-9]+)/predictions\.(?P<file_format>csv|jsonl)$",
        JobPredictionsExportView.as_view(),
        name="job-predictions",
    ),
    path("predict/", PredictView.as_view(), name="predict"),
    path("predictions/<int:pk>/", PredictionView.as_view(), name="prediction"),
    path("reports/comparison/", ComparisonReportView.as_view(), name="report-comparison"),
]
