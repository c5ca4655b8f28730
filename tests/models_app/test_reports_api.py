"""The comparison report API on a small database whose every number is worked out by hand.

The data, every number worked out by hand, is described at ``tests.factories.build_report_data``
(shared with the page and browser tests).
"""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token

from annotation.models import Campaign, Judgment
from tests.factories import TWO_CLASSES as CLASSES
from tests.factories import build_report_data, make_corpus, make_user


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Reports are cached by ids; ids repeat across tests on SQLite.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def data(db, tmp_path):
    return build_report_data(tmp_path / "tiny")


def _get(api_client, user, **params):
    api_client.force_authenticate(user)
    return api_client.get("/api/reports/comparison/", params)


def test_full_report_has_every_section_and_hand_computed_accuracies(api_client, researcher, data):
    response = _get(api_client, researcher, job=data["job"].pk, campaign=data["campaign"].pk)
    assert response.status_code == 200, response.content
    report = response.json()
    for key in ("overview", "table1", "confusion", "disagreement", "residual", "human", "missing"):
        assert key in report
    table1 = report["table1"]
    assert set(table1) == {"dummy", "framewise", "ctc", "human"}
    assert table1["dummy"]["overall_accuracy"] == pytest.approx(4 / 8)
    assert table1["dummy"]["mean_class_accuracy"] == pytest.approx((0 / 4 + 4 / 4) / 2)
    assert table1["framewise"]["overall_accuracy"] == pytest.approx(5 / 8)
    assert table1["ctc"]["overall_accuracy"] == pytest.approx(7 / 8)
    # Humans: alice 4/4, bob 1/4 (the warm-up answer left out): 5/8 pooled; on anger 3 of 6
    # answers right, on neutral 2 of 2: mean class accuracy (0.5 + 1) / 2.
    assert table1["human"]["overall_accuracy"] == pytest.approx(5 / 8)
    assert table1["human"]["mean_class_accuracy"] == pytest.approx(0.75)
    assert table1["human"]["n"] == 8
    for row in table1.values():
        for metric in ("overall_accuracy", "mean_class_accuracy"):
            low, high = row[f"{metric}_ci"]
            assert low <= row[metric] <= high
    # The human confusion matrix: anger answered anger 3 times, neutral 3 times; neutral twice right.
    assert report["confusion"]["rows"]["human"]["counts"] == [[3, 3], [0, 2]]
    assert report["confusion"]["rows"]["ctc"]["no_class"] == [0, 1]
    assert report["human"]["n_warmup_excluded"] == 1
    assert report["corpus"] == "tiny"
    assert report["missing"] == []


def test_job_only_and_campaign_only_reports_say_what_is_missing(api_client, admin_user, data):
    job_only = _get(api_client, admin_user, job=data["job"].pk).json()
    assert "no campaign selected" in job_only["missing"]
    assert job_only["human"] is None
    assert "human" not in job_only["table1"]
    campaign_only = _get(api_client, admin_user, campaign=data["campaign"].pk).json()
    assert "no training job selected" in campaign_only["missing"]
    assert set(campaign_only["table1"]) == {"human"}
    assert campaign_only["human"]["assessors"]


def test_roles_assessors_403_and_anonymous_401(api_client, assessor, data):
    query = {"job": data["job"].pk, "campaign": data["campaign"].pk}
    assert api_client.get("/api/reports/comparison/", query).status_code == 401
    assert _get(api_client, assessor, **query).status_code == 403


def test_token_authentication_reads_the_report(api_client, researcher, data):
    token = Token.objects.create(user=researcher)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/reports/comparison/", {"job": data["job"].pk}).status_code == 200


def test_bad_queries_are_400_and_unknown_ids_404(api_client, researcher, data, tmp_path):
    assert _get(api_client, researcher).status_code == 400
    bad = _get(api_client, researcher, job="abc")
    assert bad.status_code == 400 and "positive integer" in bad.json()["detail"]
    assert _get(api_client, researcher, job=999999).status_code == 404
    assert _get(api_client, researcher, campaign=999999).status_code == 404
    other = make_corpus(tmp_path / "other", name="other", speakers=("s9",), per_speaker_class=1)
    other_campaign = Campaign.objects.create(corpus=other, name="elsewhere", classes=CLASSES)
    mismatch = _get(api_client, researcher, job=data["job"].pk, campaign=other_campaign.pk)
    assert mismatch.status_code == 400
    assert "'tiny'" in mismatch.json()["detail"] and "'other'" in mismatch.json()["detail"]


def test_a_new_answer_shows_at_once_despite_the_cache(api_client, researcher, data):
    first = _get(api_client, researcher, campaign=data["campaign"].pk).json()
    assert first["table1"]["human"]["n"] == 8
    carol = make_user("assessor", "carol")
    item = data["campaign"].items.get(utterance__name="s1_neutral_0")
    Judgment.objects.create(
        campaign=data["campaign"],
        item=item,
        utterance=item.utterance,
        assessor=carol,
        answer="neutral",
        phase="main",
        expert_label="neutral",
        is_correct=True,
        response_ms=900,
        position=1,
    )
    second = _get(api_client, researcher, campaign=data["campaign"].pk).json()
    assert second["table1"]["human"]["n"] == 9
    assert second["table1"]["human"]["overall_accuracy"] == pytest.approx(6 / 9)


def test_the_openapi_schema_documents_the_query_parameters(api_client, researcher):
    api_client.force_authenticate(researcher)
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/reports/comparison/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"job", "campaign", "seed"}
