"""Token authentication for the API and for the few pages that API clients fetch (audio).

DRF's TokenAuthentication, with repeated bad tokens throttled: a client address that sent more
failed tokens than ``EMOLAB_THROTTLE_RATES["bad_token"]`` allows gets 429 (with Retry-After) for
every token it sends until the window has passed, so tokens cannot be guessed at speed. DRF runs
authentication before its throttles, so this has to live in the authentication class itself.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from rest_framework import authentication
from rest_framework.exceptions import AuthenticationFailed, Throttled

from emolab.throttling import BadTokenThrottle


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate(self, request):
        words = authentication.get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: another class (the session) may authenticate
        throttle = BadTokenThrottle()
        if throttle.over_limit(request):
            raise Throttled(wait=throttle.wait(), detail="Too many failed token authentications from your address.")
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            throttle.record_failure(request)
            raise


# Token first: DRF takes the WWW-Authenticate header from the first class, and only with one does
# an anonymous call get 401 (with session authentication first it would be 403).
API_AUTHENTICATION = [TokenAuthentication, authentication.SessionAuthentication]


def login_or_token_required(view):
    """For a page that API clients fetch too (a URL the API hands out): the session, as
    ``login_required``, or the API's token. A bad token gets the API's JSON 401 (429 when its
    address is throttled), not the login page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated and authentication.get_authorization_header(request):
            try:
                found = TokenAuthentication().authenticate(request)
            except Throttled as exc:
                response = JsonResponse({"detail": str(exc.detail)}, status=exc.status_code)
                if exc.wait is not None:
                    response["Retry-After"] = str(int(exc.wait + 0.999))
                return response
            except AuthenticationFailed as exc:
                response = JsonResponse({"detail": str(exc.detail)}, status=401)
                response["WWW-Authenticate"] = TokenAuthentication().authenticate_header(request)
                return response
            if found is not None:
                request.user = found[0]
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
