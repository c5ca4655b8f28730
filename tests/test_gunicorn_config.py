"""Issue 12, item 4: gunicorn.conf.py, the one gunicorn configuration (docker-compose, the
Dockerfile and the README start gunicorn with it), takes its values from the environment, and a
real gunicorn started with it serves the site in HTTPS mode behind a proxy."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.production_env import production_environment

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "emolab.wsgi:application"]


def _environment(tmp_path: Path, extra: dict) -> dict:
    return production_environment(tmp_path, extra)


def _printed_config(tmp_path, extra: dict) -> dict:
    result = subprocess.run(
        [*GUNICORN, "--print-config"],
        cwd=ROOT,
        env=_environment(tmp_path, extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^(\w+)\s+= (.*)$", result.stdout, re.MULTILINE))


def test_the_config_follows_the_environment(tmp_path):
    defaults = _printed_config(tmp_path, {})
    assert defaults["timeout"] == "30" and defaults["limit_request_line"] == "4094"
    assert int(defaults["workers"]) == max(2, 2 * os.cpu_count())
    tuned = _printed_config(
        tmp_path,
        {"GUNICORN_WORKERS": "3", "GUNICORN_TIMEOUT": "45", "GUNICORN_BIND": "127.0.0.1:8123",
         "GUNICORN_MAX_REQUESTS": "100", "GUNICORN_LIMIT_REQUEST_LINE": "2048"},
    )  # fmt: skip
    assert (tuned["workers"], tuned["timeout"], tuned["max_requests"]) == ("3", "45", "100")
    assert tuned["bind"] == "['127.0.0.1:8123']" and tuned["limit_request_line"] == "2048"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict):
    request = urllib.request.Request(url, headers=headers)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as exc:
        return exc


class Gunicorn:
    """gunicorn started with gunicorn.conf.py on a free port, its log in ``tmp_path``."""

    def __init__(self, tmp_path: Path, extra: dict):
        self.port = _free_port()
        self.log = tmp_path / "gunicorn.log"
        env = _environment(
            tmp_path, {"GUNICORN_BIND": f"127.0.0.1:{self.port}", "GUNICORN_ACCESS_LOG": "/dev/null", **extra}
        )
        self.process = subprocess.Popen(
            GUNICORN, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log.open("w")
        )

    def __enter__(self):
        # The master imports the site before forking (no worker pays for it on its first request),
        # then boots the workers.
        deadline = time.monotonic() + 180
        while "Booting worker" not in self.log.read_text():
            assert self.process.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.mark.slow
def test_gunicorn_serves_the_site_in_https_mode_behind_a_proxy(tmp_path):
    with Gunicorn(tmp_path, {"HTTPS": "1", "GUNICORN_WORKERS": "2"}) as server:
        assert "emolab imported in" in server.log.read_text()
        url = server.url("/accounts/login/")
        proxied = {"Host": "emolab.example.org", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        response = _get(url, proxied)
        assert response.status == 200
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "; secure" in response.headers["Set-Cookie"].lower()  # the CSRF cookie
        # The proxy's plain-http side (or a client going around it) is sent to https.
        plain = _get(url, {"Host": "emolab.example.org"})
        assert plain.status == 301 and plain.headers["Location"] == "https://emolab.example.org/accounts/login/"
        # gunicorn's own limits: a request line over 4094 bytes never reaches Django.
        assert _get(url + "?q=" + "x" * 5000, proxied).status == 414


def _shared_caches() -> list:
    caches = [pytest.param("db://", id="database")]
    broker = os.environ.get("CELERY_BROKER_URL", "")
    redis = pytest.param(broker, id="redis")
    if not broker.startswith("redis://"):
        redis = pytest.param("", id="redis", marks=pytest.mark.skip(reason="no Redis configured (CELERY_BROKER_URL)"))
    return [*caches, redis]


@pytest.mark.slow
@pytest.mark.parametrize("cache_url", _shared_caches())
def test_a_limit_holds_across_gunicorn_workers_with_a_shared_cache(tmp_path, cache_url):
    # Four processes, one limit: with a per-process cache each worker would allow the full rate
    # (measured: 24 of 30 requests through a 6/min limit with 4 workers and locmem).
    env = {"CACHE_URL": cache_url, "EMOLAB_THROTTLE_ANON": "6/min", "GUNICORN_WORKERS": "4"}
    subprocess.run(
        [sys.executable, "manage.py", "createcachetable"], cwd=ROOT, env=_environment(tmp_path, env), check=True
    )
    if cache_url.startswith("redis://"):
        from django.core.cache.backends.redis import RedisCache

        RedisCache(cache_url, {}).delete("throttle_anon_127.0.0.1")  # a previous run's history
    with Gunicorn(tmp_path, env) as server:
        statuses = [_get(server.url("/api/docs/"), {"Connection": "close"}).status for _ in range(20)]
    assert statuses == [200] * 6 + [429] * 14
