"""Pages of the models app (training jobs, reports, timeline)."""

from django.urls import path  # noqa: F401

app_name = "models_app"
urlpatterns: list = []
