"""Pages of the annotation app (relabelling campaigns live here)."""

from django.urls import path  # noqa: F401

app_name = "annotation"
urlpatterns: list = []
