"""REST API routes of the annotation app, mounted under /api/."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
