"""REST API routes of the annotation app, mounted under /api/."""

from django.urls import path

from annotation.api.views import AnswerChangeView, AnswerView, CampaignListCreateView, MyProgressView, NextItemView

urlpatterns = [
    path("campaigns/", CampaignListCreateView.as_view(), name="api-campaigns"),
    path("campaigns/<int:campaign_id>/next/", NextItemView.as_view(), name="api-campaign-next"),
    path("campaigns/<int:campaign_id>/me/", MyProgressView.as_view(), name="api-campaign-me"),
    path("campaigns/<int:campaign_id>/answers/", AnswerView.as_view(), name="api-campaign-answers"),
    path(
        "campaigns/<int:campaign_id>/answers/<uuid:item_id>/change/",
        AnswerChangeView.as_view(),
        name="api-campaign-answer-change",
    ),
]
