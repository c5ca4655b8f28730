"""Issue 12, item 6: bodies the API refuses are answered in JSON with the right status.

Deeply nested JSON was a 500 (the decoder's RecursionError), and a body over the upload limit an
HTML 400 (or, for JSON, no limit at all). Pages keep Django's HTML answers.
"""

import pytest
from rest_framework.authtoken.models import Token

from annotation.models import Campaign
from tests.factories import make_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def token_client(api_client, admin_user):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    return api_client


@pytest.fixture
def campaign(tmp_path):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", seconds=0.2)
    return Campaign.objects.create(corpus=corpus, name="c1", classes=["anger", "neutral"])


def _json_detail(response) -> str:
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    return response.json()["detail"]


@pytest.mark.parametrize("body", ["[" * 100_000, "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
@pytest.mark.parametrize("url", ["/api/campaigns/", "/api/campaigns/{campaign}/answers/", "/api/jobs/"])
def test_deeply_nested_json_is_a_400(token_client, campaign, url, body):
    response = token_client.post(url.format(campaign=campaign.pk), data=body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "nested too deeply" in _json_detail(response)


def test_json_that_nests_a_little_still_parses_and_is_validated(token_client):
    response = token_client.post("/api/campaigns/", data='{"name": [[["x"]]]}', content_type="application/json")
    assert response.status_code == 400 and "name" in response.json()


def test_a_json_body_over_the_limit_is_a_json_413_before_it_is_read(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"corpus": "tiny", "name": "%s"}' % ("x" * 2000)
    response = token_client.post("/api/campaigns/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "the limit is 1 kB (DATA_UPLOAD_MAX_MEMORY_SIZE)" in _json_detail(response)
    small = token_client.post(
        "/api/campaigns/", data='{"corpus": "none", "name": "x"}', content_type="application/json"
    )
    assert small.status_code == 400  # under the limit: parsed and validated


def test_a_form_body_over_the_limit_is_a_json_413(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = token_client.post(
        "/api/campaigns/", data="name=" + "x" * 2000, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 413 and "DATA_UPLOAD_MAX_MEMORY_SIZE" in _json_detail(response)


def test_a_multipart_field_over_the_limit_is_a_json_413(token_client, settings):
    # The whole body is within the upload limit, one text field is over Django's field limit:
    # Django's multipart parser raises RequestDataTooBig while the view reads the body.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = token_client.post("/api/predict/", {"job": "1" * 5000})
    assert response.status_code == 413, response.content[:300]
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in _json_detail(response)


def test_too_many_fields_is_a_json_400(token_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = token_client.post("/api/predict/", {f"field{i}": "x" for i in range(20)})
    assert response.status_code == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in _json_detail(response)


def test_pages_keep_django_html_answers(client, researcher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(researcher)
    response = client.post("/campaigns/new/", {"name": "x" * 2000})
    assert response.status_code == 400
    assert not response["Content-Type"].startswith("application/json")
