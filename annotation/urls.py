"""Pages of the annotation app (relabelling campaigns live here)."""

from django.urls import path

from annotation import views

app_name = "annotation"
urlpatterns = [
    path("corpora/new/", views.corpus_new, name="corpus_new"),
    path("corpora/imports/<int:import_id>/", views.corpus_import, name="corpus_import"),
    path("corpora/imports/<int:import_id>/cancel/", views.corpus_import_stop, name="corpus_import_cancel"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/new/", views.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:campaign_id>/open/", views.campaign_toggle_open, name="campaign_toggle_open"),
    path("campaigns/<int:campaign_id>/instructions/", views.instructions, name="instructions"),
    path("campaigns/<int:campaign_id>/label/", views.trial, name="trial"),
    path("campaigns/<int:campaign_id>/progress/", views.my_progress, name="my_progress"),
    path("campaigns/<int:campaign_id>/finished/", views.trial_finished, name="trial_finished"),
    path("campaigns/<int:campaign_id>/audio/<uuid:item_id>/", views.item_audio, name="item_audio"),
]
