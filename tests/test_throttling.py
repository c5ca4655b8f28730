"""Issue 12, item 3: the API is throttled per scope, repeated bad tokens too.

The suite runs with generous limits (tests/settings.py); these tests put the production defaults
back (``real_limits``) or set small real ones, and move the throttles' clock instead of sleeping.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework import authentication, throttling
from rest_framework.authtoken.models import Token
from rest_framework.views import APIView

from annotation.services.campaigns import campaign_create
from emolab.authentication import TokenAuthentication
from emolab.throttling import AnonThrottle, AnswersThrottle, PredictThrottle, UserThrottle
from tests.factories import make_corpus, make_user
from tests.production_env import production_environment

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(throttling.SimpleRateThrottle, "timer", staticmethod(clock))
    return clock


@pytest.fixture
def real_limits(settings):
    """The production defaults (what a deployment gets without EMOLAB_THROTTLE_* set)."""
    settings.EMOLAB_THROTTLE_RATES = dict(settings.EMOLAB_THROTTLE_DEFAULTS)
    cache.clear()
    yield settings.EMOLAB_THROTTLE_RATES
    cache.clear()


@pytest.fixture
def campaign(tmp_path):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", seconds=0.2)
    return campaign_create(corpus=corpus, name="c1", created_by=None)


def _answer(client, campaign, item_id, label="anger"):
    return client.post(
        f"/api/campaigns/{campaign.pk}/answers/",
        {"item": item_id, "label": label, "response_ms": 1500, "replays": 0},
        format="json",
    )


def _assert_throttled(response):
    assert response.status_code == 429, response.content
    assert int(response["Retry-After"]) >= 1
    if response["Content-Type"].startswith("application/json"):
        detail = response.json()["detail"].lower()
        assert "throttled" in detail or "too many" in detail


def test_the_defaults_are_rate_strings_that_leave_a_fast_assessor_room(settings):
    defaults = settings.EMOLAB_THROTTLE_DEFAULTS
    assert set(defaults) == {"anon", "user", "answers", "predict", "bad_token"}
    per_minute = {}
    for scope, rate in defaults.items():
        n, period = throttling.SimpleRateThrottle.parse_rate(None, rate)
        per_minute[scope] = n * 60 / period
    # A fast assessor: an answer and a next-item call every 2 s, sustained.
    assert per_minute["answers"] >= 2 * 30
    assert per_minute["user"] >= 2 * 60


def test_answers_are_throttled_at_the_default_rate(api_client, campaign, real_limits, clock):
    alice, bob = make_user("assessor"), make_user("assessor")
    api_client.force_authenticate(alice)
    item_id = api_client.get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]
    limit, _ = throttling.SimpleRateThrottle.parse_rate(None, real_limits["answers"])
    for _ in range(limit):  # the same answer again is answered 200: each one counts
        assert _answer(api_client, campaign, item_id).status_code in (200, 201)
        clock.now += 0.2
    _assert_throttled(_answer(api_client, campaign, item_id))
    # Only answers are limited so far: the next item still comes, and another assessor answers.
    assert api_client.get(f"/api/campaigns/{campaign.pk}/next/").status_code == 200
    api_client.force_authenticate(bob)
    bob_item = api_client.get(f"/api/campaigns/{campaign.pk}/next/").json()["item"]["id"]
    assert _answer(api_client, campaign, bob_item).status_code == 201
    # A minute after the first answer the window has room again.
    api_client.force_authenticate(alice)
    clock.now += 60
    assert _answer(api_client, campaign, item_id).status_code == 200


def _work(api_client, campaign, clock, seconds_per_answer: float, n_answers: int) -> list[int]:
    """An assessor's loop as the trial page runs it: next item, then the answer."""
    statuses, last_item = [], None
    for _ in range(n_answers):
        response = api_client.get(f"/api/campaigns/{campaign.pk}/next/")
        statuses.append(response.status_code)
        item = response.json().get("item") if response.status_code == 200 else None
        last_item = item["id"] if item else last_item
        statuses.append(_answer(api_client, campaign, last_item).status_code)
        clock.now += seconds_per_answer
    return statuses


def test_a_fast_assessor_is_never_throttled_at_the_defaults(api_client, campaign, real_limits, clock):
    api_client.force_authenticate(make_user("assessor"))
    # Warm-up at speed (an answer every half second), then two minutes at one answer every 2 s.
    statuses = _work(api_client, campaign, clock, 0.5, 10) + _work(api_client, campaign, clock, 2.0, 60)
    assert 429 not in statuses
    assert set(statuses) <= {200, 201}


def test_an_assessor_four_times_faster_than_the_fastest_human_is_throttled(api_client, campaign, real_limits, clock):
    api_client.force_authenticate(make_user("assessor"))
    statuses = _work(api_client, campaign, clock, 0.4, 160)  # 150 answers a minute, sustained
    assert 429 in statuses


def test_every_api_call_of_a_user_counts_under_the_user_scope(api_client, settings, clock):
    settings.EMOLAB_THROTTLE_RATES = {**settings.EMOLAB_THROTTLE_RATES, "user": "5/min"}
    cache.clear()
    alice, bob = make_user("researcher"), make_user("researcher")
    api_client.force_authenticate(alice)
    for _ in range(5):
        assert api_client.get("/api/campaigns/").status_code == 200
    _assert_throttled(api_client.get("/api/campaigns/"))
    _assert_throttled(api_client.get("/api/jobs/"))  # one budget for every endpoint
    api_client.force_authenticate(bob)
    assert api_client.get("/api/campaigns/").status_code == 200
    api_client.force_authenticate(alice)
    clock.now += 61
    assert api_client.get("/api/campaigns/").status_code == 200


def test_anonymous_calls_are_throttled_per_address(api_client, settings, clock):
    settings.EMOLAB_THROTTLE_RATES = {**settings.EMOLAB_THROTTLE_RATES, "anon": "3/min"}
    cache.clear()
    for _ in range(3):
        assert api_client.get("/api/schema/").status_code == 200
    _assert_throttled(api_client.get("/api/schema/"))
    assert api_client.get("/api/schema/", REMOTE_ADDR="10.0.0.2").status_code == 200


def test_predictions_are_throttled_at_the_default_rate(api_client, researcher, real_limits, clock):
    api_client.force_authenticate(researcher)
    limit, _ = throttling.SimpleRateThrottle.parse_rate(None, real_limits["predict"])
    for _ in range(limit):  # no file: refused at once (400), and counted
        assert api_client.post("/api/predict/", {}, format="multipart").status_code == 400
        clock.now += 1
    _assert_throttled(api_client.post("/api/predict/", {}, format="multipart"))
    assert api_client.get("/api/campaigns/").status_code == 200  # other calls go on


def _token_get(api_client, key, address="127.0.0.1", **headers):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get("/api/campaigns/", REMOTE_ADDR=address, **headers)


def test_repeated_bad_tokens_are_throttled_per_address(api_client, assessor, real_limits, clock):
    good = Token.objects.create(user=assessor).key
    limit, _ = throttling.SimpleRateThrottle.parse_rate(None, real_limits["bad_token"])
    for i in range(limit):
        assert _token_get(api_client, f"{i:040x}").status_code == 401
    _assert_throttled(_token_get(api_client, "f" * 40))
    # While the address is throttled its tokens are not even checked, the right one included...
    _assert_throttled(_token_get(api_client, good))
    # ...another address is not affected, nor are session clients (no token offered).
    assert _token_get(api_client, good, address="10.0.0.2").status_code == 200
    api_client.credentials()
    api_client.force_authenticate(assessor)
    assert api_client.get("/api/campaigns/").status_code == 200
    api_client.force_authenticate(None)
    clock.now += 61
    assert _token_get(api_client, good).status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_the_bad_token_limit(api_client, settings, clock):
    settings.EMOLAB_THROTTLE_RATES = {**settings.EMOLAB_THROTTLE_RATES, "bad_token": "3/min"}
    settings.EMOLAB_PROXY_COUNT = 0  # clients connect directly: X-Forwarded-For is theirs to forge
    cache.clear()
    for i in range(3):
        assert _token_get(api_client, "0" * 40, HTTP_X_FORWARDED_FOR=f"10.1.0.{i}").status_code == 401
    _assert_throttled(_token_get(api_client, "0" * 40, HTTP_X_FORWARDED_FOR="10.1.0.9"))


def test_behind_one_proxy_the_address_it_appended_counts(api_client, settings, clock):
    settings.EMOLAB_THROTTLE_RATES = {**settings.EMOLAB_THROTTLE_RATES, "bad_token": "3/min"}
    settings.EMOLAB_PROXY_COUNT = 1
    cache.clear()
    for _ in range(3):  # the client forges the left entry; the proxy appended the real one
        assert _token_get(api_client, "0" * 40, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7").status_code == 401
    _assert_throttled(_token_get(api_client, "0" * 40, HTTP_X_FORWARDED_FOR="9.9.9.9, 198.51.100.7"))
    assert _token_get(api_client, "0" * 40, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 401


def _api_views():
    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view_class = getattr(pattern.callback, "cls", None)
                if view_class is not None and issubclass(view_class, APIView):
                    yield str(pattern.pattern), view_class

    return list(walk(get_resolver().url_patterns))


def test_every_api_view_uses_the_throttled_token_check_and_the_default_throttles():
    views = _api_views()
    assert len(views) >= 6
    for route, view_class in views:
        classes = view_class.authentication_classes
        assert authentication.TokenAuthentication not in classes, route  # DRF's own: bad tokens unthrottled
        if any(issubclass(c, authentication.TokenAuthentication) for c in classes):
            assert TokenAuthentication in classes, route
        throttles = view_class.throttle_classes
        assert AnonThrottle in throttles and UserThrottle in throttles, route
    scoped = {route: view_class.throttle_classes for route, view_class in views}
    assert AnswersThrottle in scoped["campaigns/<int:campaign_id>/answers/"]
    assert PredictThrottle in scoped["predict/"]


def _settings_in_a_fresh_process(tmp_path, env: dict) -> dict:
    code = (
        "import json; from django.conf import settings; print(json.dumps({"
        "'rates': settings.EMOLAB_THROTTLE_RATES, 'limit': settings.AXES_FAILURE_LIMIT, "
        "'cooloff': settings.AXES_COOLOFF_TIME.total_seconds(), 'cache': settings.CACHES['default']['BACKEND'], "
        "'proxies': settings.EMOLAB_PROXY_COUNT}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=production_environment(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        return {"error": result.stderr}
    return json.loads(result.stdout)


def test_limits_come_from_the_environment(tmp_path):
    found = _settings_in_a_fresh_process(
        tmp_path,
        {
            "EMOLAB_THROTTLE_ANON": "7/min",
            "EMOLAB_THROTTLE_USER": "1000/min",
            "EMOLAB_THROTTLE_ANSWERS": "3000/hour",
            "EMOLAB_THROTTLE_PREDICT": "off",
            "EMOLAB_LOGIN_FAILURE_LIMIT": "8",
            "EMOLAB_LOGIN_COOLOFF_MINUTES": "30",
            "CACHE_URL": "redis://127.0.0.1:6379/5",
        },
    )
    assert found["rates"]["anon"] == "7/min" and found["rates"]["user"] == "1000/min"
    assert found["rates"]["answers"] == "3000/hour" and found["rates"]["predict"] is None
    assert found["limit"] == 8 and found["cooloff"] == 30 * 60
    assert found["cache"] == "emolab.cache.ReusedClientRedisCache"
    defaults = _settings_in_a_fresh_process(tmp_path, {})
    assert defaults["rates"]["answers"] == "120/min" and defaults["limit"] == 5 and defaults["cooloff"] == 15 * 60
    # Without Redis a production start shares the database's cache table, never a per-process one.
    assert defaults["cache"] == "django.core.cache.backends.db.DatabaseCache"


def test_a_malformed_rate_stops_the_start_with_the_variable_named(tmp_path):
    found = _settings_in_a_fresh_process(tmp_path, {"EMOLAB_THROTTLE_ANSWERS": "fast"})
    assert "EMOLAB_THROTTLE_ANSWERS='fast'" in found["error"]
