"""REST API routes of the annotation app, mounted under /api/."""

from django.urls import path

from annotation.api.views import AnswerView, CampaignListCreateView, NextItemView

urlpatterns = [
    path("campaigns/", CampaignListCreateView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>/next/", NextItemView.as_view(), name="api-campaign-next"),
    path("campaigns/<int:campaign_id>/answers/", AnswerView.as_view(), name="api-campaign-answers"),
]
