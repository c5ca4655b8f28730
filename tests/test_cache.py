"""The Redis cache backend reuses one client per connection pool (emolab/cache.py) and still works as
Django's: values round-trip, counters count, and a forked process (a gunicorn worker) gets its own
connections. Runs against a real Redis: the broker's when it is Redis, else a local one."""

import os
import socket
from urllib.parse import urlparse

import pytest
import redis

from emolab.cache import ReusedClientRedisCache
from emolab.settings import cache_settings


def _redis_url() -> str:
    broker = os.environ.get("CELERY_BROKER_URL", "")
    url = broker if broker.startswith("redis://") else "redis://127.0.0.1:6379/0"
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=2).close()
    except OSError:
        if os.environ.get("EMOLAB_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(f"no Redis at {url}: the Redis cache backend needs a server (CI runs one)")
    return url


@pytest.fixture
def cache():
    backend = ReusedClientRedisCache(_redis_url(), {"KEY_PREFIX": f"emolab-test-cache-{os.getpid()}"})
    yield backend
    # Never FLUSHDB a shared server: delete only this test's keys.
    for key in ("value", "counter", "from-child"):
        backend.delete(key)


def test_production_settings_choose_the_reusing_backend_for_redis_urls():
    assert cache_settings("redis://127.0.0.1:6379/1", debug=False)["default"]["BACKEND"] == (
        "emolab.cache.ReusedClientRedisCache"
    )


def test_one_client_serves_every_call(cache, monkeypatch):
    constructed = []
    original_init = redis.Redis.__init__

    def counting_init(self, *args, **kwargs):
        constructed.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counting_init)
    for index in range(50):
        cache.set("value", index)
        assert cache.get("value") == index
    # Django's own backend builds a client per call: 100 here.
    assert len(constructed) == 1


def test_values_counters_and_additions_behave_as_djangos(cache):
    cache.set("value", {"a": [1, 2.5]}, 30)
    assert cache.get("value") == {"a": [1, 2.5]}
    assert cache.add("counter", 1, 30) is True
    assert cache.add("counter", 5, 30) is False
    assert cache.incr("counter") == 2
    cache.delete("value")
    assert cache.get("value", "gone") == "gone"


def test_a_forked_process_uses_its_own_connections(cache):
    cache.set("value", "parent")  # the parent's pool now holds a connection
    parent_connection = cache._cache.get_client().client_id()  # Redis's id of the connection (CLIENT ID)
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child; its exit code is the assertion
        ok = False
        try:
            cache.set("from-child", "child")
            ok = cache.get("value") == "parent" and cache.get("from-child") == "child"
            ok = ok and cache._cache.get_client().client_id() != parent_connection
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("from-child") == "child"
    assert cache.get("value") == "parent"  # the parent's connection still answers
    assert cache._cache.get_client().client_id() == parent_connection
