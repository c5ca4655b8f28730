"""Issue 12, item 6: every integer a client sends is bounded by the column it lands in.

``replays`` above 32767 reached a smallint column and answered 500 on PostgreSQL (SQLite stored
it). The audit below pairs every integer input field of every request serializer and form with
its column and checks the bounds against the database's own ranges; the request tests show the
400 on each backend.
"""

from pathlib import Path

import pytest
from django import forms
from django.db.backends.base.operations import BaseDatabaseOperations
from rest_framework import serializers

from annotation.api.serializers import AnswerSerializer, CampaignCreateSerializer
from annotation.forms import CampaignForm
from annotation.models import Campaign, Judgment
from annotation.services.campaigns import campaign_create
from models_app.api.jobs import JobCreateSerializer
from models_app.api.predict import PredictRequestSerializer
from models_app.forms import JobStartForm
from models_app.models import TrainingJob
from tests.factories import make_corpus

# (form or serializer, field) -> (model, column) it is stored in or looked up by.
INTEGER_INPUTS = {
    (AnswerSerializer, "response_ms"): (Judgment, "response_ms"),
    (AnswerSerializer, "replays"): (Judgment, "replays"),
    (CampaignCreateSerializer, "judgments_per_item"): (Campaign, "judgments_per_item"),
    (CampaignCreateSerializer, "items_per_assessor"): (Campaign, "items_per_assessor"),
    (CampaignCreateSerializer, "replay_limit"): (Campaign, "replay_limit"),
    (CampaignCreateSerializer, "warmup_per_class"): (Campaign, "warmup_per_class"),
    (CampaignForm, "judgments_per_item"): (Campaign, "judgments_per_item"),
    (CampaignForm, "items_per_assessor"): (Campaign, "items_per_assessor"),
    (CampaignForm, "replay_limit"): (Campaign, "replay_limit"),
    (CampaignForm, "warmup_per_class"): (Campaign, "warmup_per_class"),
    (CampaignCreateSerializer, "break_every"): (Campaign, "break_every"),
    (CampaignForm, "break_every"): (Campaign, "break_every"),
    (JobCreateSerializer, "folds"): (TrainingJob, "n_folds"),
    (JobCreateSerializer, "seed"): (TrainingJob, "seed"),
    (JobStartForm, "folds"): (TrainingJob, "n_folds"),
    (JobStartForm, "seed"): (TrainingJob, "seed"),
    (PredictRequestSerializer, "job"): (TrainingJob, "id"),
}


def _integer_fields(owner) -> dict:
    if issubclass(owner, forms.Form):
        fields, integer_type = owner.base_fields, forms.IntegerField
    else:
        fields, integer_type = owner().fields, serializers.IntegerField
    # (Django's FloatField is an IntegerField subclass; floats are not integer columns.)
    return {
        name: field
        for name, field in fields.items()
        if isinstance(field, integer_type) and not isinstance(field, forms.FloatField | serializers.FloatField)
    }


def _bounds(field) -> tuple:
    if isinstance(field, serializers.Field):
        return field.min_value, field.max_value
    limits = {validator.code: validator.limit_value for validator in field.validators}
    return limits.get("min_value"), limits.get("max_value")


def test_every_integer_input_is_listed_here():
    # A new integer field must be paired with its column above, so that the audit covers it.
    for owner in {owner for owner, _ in INTEGER_INPUTS}:
        listed = {name for o, name in INTEGER_INPUTS if o is owner}
        assert set(_integer_fields(owner)) == listed, owner.__name__


@pytest.mark.parametrize("owner,name", sorted(INTEGER_INPUTS, key=lambda pair: (pair[0].__name__, pair[1])))
def test_integer_inputs_fit_their_columns(owner, name):
    model, column = INTEGER_INPUTS[(owner, name)]
    # Django's own column ranges (PostgreSQL's; SQLite would store anything, so the same bounds apply).
    column_low, column_high = BaseDatabaseOperations.integer_field_ranges[
        model._meta.get_field(column).get_internal_type()
    ]
    low, high = _bounds(_integer_fields(owner)[name])
    assert low is not None and high is not None, f"{owner.__name__}.{name} is unbounded"
    assert column_low <= low <= high <= column_high, (owner.__name__, name, low, high, column_high)


@pytest.fixture
def corpus(db, tmp_path: Path):
    return make_corpus(tmp_path / "tiny", name="tiny", seconds=0.2)


def _answer(client, campaign, item_id, **overrides):
    body = {"item": item_id, "label": "anger", "response_ms": 1200, "replays": 0, **overrides}
    return client.post(f"/api/campaigns/{campaign.pk}/answers/", body, format="json")


@pytest.mark.parametrize(
    "override,field",
    [({"replays": 32768}, "replays"), ({"response_ms": 2**31}, "response_ms"), ({"replays": 10**30}, "replays")],
)
def test_an_answer_with_an_out_of_range_integer_is_a_400(api_client, assessor, corpus, override, field):
    campaign = campaign_create(corpus=corpus, name="c1", created_by=None)
    api_client.force_authenticate(assessor)
    item_id = api_client.get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]
    response = _answer(api_client, campaign, item_id, **override)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Judgment.objects.exists()
    assert _answer(api_client, campaign, item_id, replays=32767).status_code == 201


def test_a_campaign_with_too_many_items_per_assessor_is_a_400(api_client, researcher, corpus):
    api_client.force_authenticate(researcher)
    response = api_client.post(
        "/api/campaigns/", {"corpus": "tiny", "name": "big", "items_per_assessor": 2**31}, format="json"
    )
    assert response.status_code == 400 and "items_per_assessor" in response.json()
    assert not Campaign.objects.exists()


def test_the_campaign_form_refuses_too_many_items_per_assessor(client, researcher, corpus):
    client.force_login(researcher)
    response = client.post(
        "/campaigns/new/",
        {"corpus": "tiny", "name": "big", "judgments_per_item": 2, "warmup_per_class": 2, "gold_share": 0,
         "items_per_assessor": 2**31},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "items_per_assessor" in response.context["form"].errors
    assert not Campaign.objects.exists()


def test_the_job_form_refuses_a_seed_beyond_its_column(client, admin_user, corpus):
    client.force_login(admin_user)
    response = client.post("/jobs/new/", {"corpus": "tiny", "methods": ["dummy"], "preset": "fast", "folds": 2,
                                          "seed": 2**31})  # fmt: skip
    assert response.status_code == 200
    assert "seed" in response.context["form"].errors
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "/api/campaigns/99999999999999999999/next/",
        "/campaigns/99999999999999999999/",
        "/jobs/99999999999999999999/",
        "/api/jobs/99999999999999999999/",
    ],
)
def test_ids_beyond_any_column_are_404(client, admin_user, url):
    client.force_login(admin_user)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("value", ["99999999999999999999", "1" * 5000, "²"])
def test_report_ids_beyond_any_column_are_a_clear_error(client, researcher, value):
    client.force_login(researcher)
    for name in ("job", "campaign", "seed"):
        response = client.get(f"/api/reports/comparison/?{name}={value}")
        assert response.status_code in (400, 404), (name, response.status_code)
