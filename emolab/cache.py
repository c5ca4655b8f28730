"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` for every cache operation, and
redis-py fills a dictionary of about 170 response callbacks in each client's constructor. Under the
labelling load every API request makes 3 to 5 cache calls (the throttles' histories and the
bad-token check), and profiling the closed loop of ``scripts/bench_labelling.py`` in process
found those constructors taking about 15% of the web worker's CPU: more than the SQL of a request.

A ``redis.Redis`` holds no connection of its own (it borrows one from the pool for each command) and
is safe to share between threads, so one per pool is enough. After a fork, redis-py's pool notices
the new process id and opens its own connections, so gunicorn's forked workers stay apart.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class ReusedClientRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` with ``ReusedClientRedisCacheClient``."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
