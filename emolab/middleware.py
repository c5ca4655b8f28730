"""Two middlewares for answers Django gives in the wrong shape.

Request bodies the API refuses, answered in the API's own shape (JSON with a ``detail``).

Django answers a body over its limits with an HTML 400 page (``RequestDataTooBig`` is a
"suspicious operation"), and does not limit a JSON body at all. For API paths this middleware
refuses a body whose Content-Length is over the endpoint's limit with a JSON 413 before anything
reads it, and turns Django's own refusals raised while a view parses the body into JSON: 413 for
too large, 400 for too many fields or files. Pages keep Django's HTML answers.

Pages' 404 and 405 answered with the site's layout (HtmlErrorPagesMiddleware).
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

API_PREFIX = "/api/"


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def _body_limit(path: str) -> tuple[int, str]:
    """(largest body in bytes, the setting that says so) for an API path."""
    # The two upload endpoints take files up to their own limits (streamed to disk, not held in
    # memory); every other API call is a small JSON document, held in memory while parsed.
    if path == reverse("predict"):
        return int(settings.EMOLAB_PREDICT_MAX_BYTES), "EMOLAB_PREDICT_MAX_BYTES"
    if path == reverse("api-corpus-imports"):
        return int(settings.EMOLAB_IMPORT_MAX_UPLOAD_BYTES), "EMOLAB_IMPORT_MAX_UPLOAD_BYTES"
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE), "DATA_UPLOAD_MAX_MEMORY_SIZE"


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None


class ApiRequestBodyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            length = _content_length(request)
            limit, setting = _body_limit(request.path_info)
            if length is not None and length > limit:
                return JsonResponse(
                    {"detail": f"The request body is {_size(length)}; the limit is {_size(limit)} ({setting})."},
                    status=413,
                )
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not request.path_info.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            # Django's multipart parser holds every non-file field in memory, up to this limit.
            limit = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
            return JsonResponse(
                {"detail": f"The request's fields are over the limit of {_size(limit)} (DATA_UPLOAD_MAX_MEMORY_SIZE)."},
                status=413,
            )
        if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
            return JsonResponse({"detail": f"The request body is refused: {exception}"}, status=400)
        return None


class HtmlErrorPagesMiddleware:
    """Pages (not the API, the admin or static files) answer 404 and 405 with the site's layout, a
    sentence saying why and a link back. Django's 405 has an empty body (GET on the sign-out
    address gave a blank page), and under DEBUG (``make demo``) its 404 is a developer's page."""

    SKIPPED_PREFIXES = (API_PREFIX, "/admin/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info.startswith(self.SKIPPED_PREFIXES):
            return response
        if response.status_code == 405 and not response.content:
            return self._page(request, response, "405.html", self._not_allowed_context(request, response))
        if (
            response.status_code == 404
            and settings.DEBUG
            and response.get("Content-Type", "").startswith("text/html")
            and b'id="error-page"' not in response.content
        ):
            return self._page(request, response, "404.html", {"request_path": request.path})
        return response

    @staticmethod
    def _not_allowed_context(request, response) -> dict:
        allowed = [method.strip() for method in response.get("Allow", "").split(",") if method.strip()]
        return {
            "method": request.method,
            "allowed": " or ".join(allowed) or "other",
            "is_logout": request.path_info == reverse("logout"),
        }

    @staticmethod
    def _page(request, original, template: str, context: dict):
        page = render(request, template, context, status=original.status_code)
        if original.has_header("Allow"):
            page["Allow"] = original["Allow"]
        return page
