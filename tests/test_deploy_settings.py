"""Issue 12, item 4: HTTPS settings and the Content-Security-Policy come from the environment, on by
default with HTTPS=1, and `manage.py check --deploy` is clean in that mode."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.production_env import production_environment

ROOT = Path(__file__).resolve().parent.parent


def _environment(tmp_path: Path, extra: dict) -> dict:
    return production_environment(tmp_path, extra)


def _check_deploy(tmp_path: Path, extra: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_environment(tmp_path, extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_https(tmp_path):
    result = _check_deploy(tmp_path, {"HTTPS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_https_check_deploy_names_what_is_missing(tmp_path):
    result = _check_deploy(tmp_path, {})
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def _settings(tmp_path: Path, extra: dict) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({"
        "'redirect': s.SECURE_SSL_REDIRECT, 'hsts': s.SECURE_HSTS_SECONDS, "
        "'subdomains': s.SECURE_HSTS_INCLUDE_SUBDOMAINS, 'preload': s.SECURE_HSTS_PRELOAD, "
        "'proxy_header': s.SECURE_PROXY_SSL_HEADER, 'session_secure': s.SESSION_COOKIE_SECURE, "
        "'csrf_secure': s.CSRF_COOKIE_SECURE, 'proxies': s.EMOLAB_PROXY_COUNT, "
        "'csp': getattr(s, 'CONTENT_SECURITY_POLICY', None), "
        "'csp_report_only': getattr(s, 'CONTENT_SECURITY_POLICY_REPORT_ONLY', None)}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_environment(tmp_path, extra), capture_output=True, text=True
    )
    if result.returncode:
        return {"error": result.stderr}
    return json.loads(result.stdout)


def test_https_turns_every_setting_on(tmp_path):
    found = _settings(tmp_path, {"HTTPS": "1"})
    assert found["redirect"] and found["session_secure"] and found["csrf_secure"]
    assert found["hsts"] == 365 * 24 * 3600 and found["subdomains"] and found["preload"]
    assert found["proxy_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert found["proxies"] == 1
    directives = found["csp"]["DIRECTIVES"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)
    plain = _settings(tmp_path, {})
    assert not plain["redirect"] and plain["hsts"] == 0 and plain["proxy_header"] is None
    assert not plain["session_secure"] and plain["proxies"] == 0
    assert plain["csp"] is not None  # the policy does not depend on HTTPS


def test_each_setting_can_be_set_on_its_own(tmp_path):
    found = _settings(
        tmp_path,
        {
            "HTTPS": "1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "3600",
            "SECURE_HSTS_PRELOAD": "0",
            "SECURE_PROXY_SSL_HEADER": "X-Scheme",
            "CSP_MODE": "report-only",
            "CSP_REPORT_URI": "https://reports.example.org/csp",
        },
    )
    assert not found["redirect"] and found["hsts"] == 3600 and not found["preload"] and found["subdomains"]
    assert found["proxy_header"] == ["HTTP_X_SCHEME", "https"]
    assert found["csp"] is None
    assert found["csp_report_only"]["DIRECTIVES"]["report-uri"] == ["https://reports.example.org/csp"]
    assert _settings(tmp_path, {"CSP_MODE": "off"})["csp"] is None
    assert "CSP_MODE='sometimes'" in _settings(tmp_path, {"CSP_MODE": "sometimes"})["error"]


@pytest.mark.django_db
def test_the_api_answers_json_even_to_a_browser(client, researcher):
    # DRF's browsable pages carry inline styles (refused by the policy); /api/docs/ is the browser's view.
    client.force_login(researcher)
    response = client.get("/api/campaigns/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_behind_the_proxy_http_is_redirected_and_https_gets_hsts(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLOWED_HOSTS = ["emolab.example.org"]
    response = client.get("/accounts/login/", HTTP_HOST="emolab.example.org", HTTP_X_FORWARDED_PROTO="http")
    assert response.status_code == 301 and response["Location"] == "https://emolab.example.org/accounts/login/"
    response = client.get("/accounts/login/", HTTP_HOST="emolab.example.org", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=3600"
    assert "script-src 'self'" in response["Content-Security-Policy"]
