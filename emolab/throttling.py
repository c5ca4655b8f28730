"""API throttles: DRF's sliding-window throttles, with rates read from settings on every request.

Scopes (rates in ``settings.EMOLAB_THROTTLE_RATES``, from the environment; see README/docs):
- ``anon``: unauthenticated calls per client address (the schema, the docs);
- ``user``: every API call of a signed-in user (or token);
- ``answers``: ``POST /api/campaigns/{id}/answers/`` per user, on top of ``user``;
- ``predict``: ``POST /api/predict/`` per user, on top of ``user``;
- ``bad_token``: failed token authentications per client address (see emolab.authentication).

The histories live in Django's default cache, which must be shared by every web process in
production (Redis or the database cache; see docs/deploy.md): with a per-process cache each
gunicorn worker would allow the full rate on its own.
"""

from django.conf import settings
from rest_framework import throttling

from emolab.client_ip import client_ip


class _RateFromSettings:
    """DRF binds its rates when the module is imported; these read them per request, so a
    deployment (or a test) changes them through settings alone. A rate of None turns a scope off."""

    scope: str

    def get_rate(self):
        return settings.EMOLAB_THROTTLE_RATES[self.scope]

    def get_ident(self, request):
        return client_ip(request)


class _PostOnly:
    """A scope for one action: other methods of the same view count under ``user`` only."""

    def allow_request(self, request, view):
        if request.method != "POST":
            return True
        return super().allow_request(request, view)


class AnonThrottle(_RateFromSettings, throttling.AnonRateThrottle):
    scope = "anon"


class UserThrottle(_RateFromSettings, throttling.UserRateThrottle):
    scope = "user"


class AnswersThrottle(_PostOnly, _RateFromSettings, throttling.UserRateThrottle):
    scope = "answers"


class PredictThrottle(_PostOnly, _RateFromSettings, throttling.UserRateThrottle):
    scope = "predict"


# The throttles of every API view; views with a scope of their own add it to these.
DEFAULT_THROTTLES = [AnonThrottle, UserThrottle]


class BadTokenThrottle(_RateFromSettings, throttling.SimpleRateThrottle):
    """Failed token authentications per client address. Unlike the others it counts failures
    only (``record_failure``) and is asked before authenticating (``over_limit``)."""

    scope = "bad_token"

    def get_cache_key(self, request, view=None):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def _load(self, request) -> None:
        self.key = self.get_cache_key(request)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()

    def over_limit(self, request) -> bool:
        if self.rate is None:
            return False
        self._load(request)
        return len(self.history) >= self.num_requests

    def record_failure(self, request) -> None:
        if self.rate is None:
            return
        self._load(request)
        self.throttle_success()  # stores the failure's time in the history
