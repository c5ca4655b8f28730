"""Pages of the models app (training jobs, reports, timeline)."""

from django.urls import path

from models_app.views import jobs, reports
from models_app.views.timeline import timeline_page, timeline_prediction_page

app_name = "models_app"
urlpatterns = [
    path("jobs/", jobs.job_list, name="job-list"),
    path("jobs/new/", jobs.job_start, name="job-start"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:pk>/cancel/", jobs.job_cancel, name="job-cancel"),
    path("jobs/<int:pk>/resume/", jobs.job_resume, name="job-resume"),
    path("timeline/", timeline_page, name="timeline"),
    path("timeline/<int:pk>/", timeline_prediction_page, name="timeline-prediction"),
    path("reports/", reports.report_choose, name="report-choose"),
    path("reports/comparison/", reports.report_comparison, name="report-comparison"),
    path("reports/explorer/", reports.report_explorer, name="report-explorer"),
    path("reports/comparison/status/", reports.report_status, name="report-status"),
    path("reports/comparison/csv/<slug:table>/", reports.report_csv, name="report-csv"),
    path("reports/comparison/svg/<slug:figure>/", reports.report_svg, name="report-svg"),
    path("reports/utterance/<uuid:utterance_id>/", reports.report_utterance, name="report-utterance"),
    path("reports/utterance/<uuid:utterance_id>/audio/", reports.report_utterance_audio, name="report-utterance-audio"),
]
