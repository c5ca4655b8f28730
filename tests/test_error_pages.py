"""Error pages with the site's layout, a reason and a link back (issue 15, bug 4), and no traceback
in the log for an ordinary 403."""

import io
import logging
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import Client

from annotation.services.campaigns import campaign_create
from tests.factories import make_corpus, make_user

pytestmark = pytest.mark.django_db


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _assert_site_page(html: str) -> None:
    assert 'class="topbar"' in html and 'id="error-page"' in html
    assert 'id="error-back" href="/"' in html
    assert "Traceback" not in html


def test_403_says_why_with_the_layout_and_no_traceback_in_the_log(tmp_path: Path):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", seconds=0.2)
    campaign = campaign_create(corpus=corpus, name="c", created_by=None)
    researcher = make_user("researcher")
    handler = logging.getLogger("django.request").handlers[0]
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        response = _signed_in(researcher).get(f"/campaigns/{campaign.pk}/label/")
    finally:
        handler.setStream(previous)
    assert response.status_code == 403
    html = response.content.decode()
    _assert_site_page(html)
    assert "You are not an assessor of this campaign." in html
    assert "Campaigns</a>" in html  # the nav of a signed-in researcher
    logged = stream.getvalue()
    assert "Forbidden" in logged and f"/campaigns/{campaign.pk}/label/" in logged
    assert "Traceback" not in logged and "PermissionDenied" not in logged


def test_an_assessor_on_a_researchers_page_is_told_why():
    response = _signed_in(make_user("assessor")).get("/campaigns/new/")
    assert response.status_code == 403
    _assert_site_page(response.content.decode())


def test_get_on_sign_out_is_a_page_not_a_blank_405():
    response = _signed_in(make_user("assessor")).get("/accounts/logout/")
    assert response.status_code == 405 and response["Allow"] == "POST, OPTIONS"
    html = response.content.decode()
    _assert_site_page(html)
    assert "Signing out is done with the “Sign out” button" in html
    # Elsewhere a 405 names the methods the address takes.
    make_user("researcher", username="rita")
    other = _signed_in(make_user("researcher")).get("/campaigns/1/open/")
    assert other.status_code == 405 and "takes POST requests, not GET" in other.content.decode()


def test_api_405_stays_json():
    client = _signed_in(make_user("assessor"))
    response = client.delete("/api/campaigns/")
    assert response.status_code == 405 and response.json()["detail"].startswith("Method")


@pytest.mark.parametrize("debug", [False, True])
def test_404_is_the_sites_page_even_under_debug(settings, debug):
    settings.DEBUG = debug  # `make demo` runs with DEBUG on: no developer's page there either
    response = _signed_in(make_user("assessor")).get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    _assert_site_page(html)
    assert "There is no page at <code>/no/such/page/</code>" in html
    assert "URLconf" not in html and "Using the URLconf" not in html


def test_500_page_has_the_layout_without_a_request():
    html = render_to_string("500.html")
    assert 'class="topbar"' in html and "Something went wrong on our side" in html and 'href="/"' in html
