"""Domain errors and the HTTP status each one answers with: one table for the API and the pages.

Services and selectors raise their own exceptions, whose message is written for the person who
made the request; they know nothing of HTTP. The API turns them into ``{"detail": message}``
(plus ``field`` when the error names one) through :func:`api_exception_handler`, registered as
REST_FRAMEWORK["EXCEPTION_HANDLER"]; a page catches ``DOMAIN_ERRORS`` and answers with
:func:`render_domain_error`. Either way the status comes from ``STATUS_OF_DOMAIN_ERROR``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from annotation.selectors.corpora import UnknownCorpus
from annotation.services.campaigns import CampaignSetupError
from annotation.services.corpus_imports import ImportConflict, ImportRequestError
from annotation.services.judgments import (
    AnswerConflict,
    CampaignClosed,
    ChangeTooLate,
    InvalidAnswer,
    ItemNotAssigned,
    ListenedTooLittle,
    NoAccess,
)
from emolab.celery import TaskQueueUnavailable
from models_app.selectors.model_files import ModelFileMissing
from models_app.selectors.predictions import UnknownPrediction
from models_app.selectors.reports import ReportInputError, ReportSourceNotFound
from models_app.selectors.timeline import NoCTCModel, UnknownJob
from models_app.services.jobs import JobConflict, JobError
from models_app.services.predictions import TooManyActivePredictions
from models_app.services.timeline import ModelUnusable, RecordingError, RecordingTooLarge

# The first entry the error is an instance of decides: subclasses before their base classes.
STATUS_OF_DOMAIN_ERROR: tuple[tuple[type[Exception], int], ...] = (
    # Something named in the request does not exist.
    (UnknownJob, status.HTTP_404_NOT_FOUND),
    (UnknownCorpus, status.HTTP_404_NOT_FOUND),
    (ReportSourceNotFound, status.HTTP_404_NOT_FOUND),
    (UnknownPrediction, status.HTTP_404_NOT_FOUND),
    # The request is well formed but the state of things does not allow it (yet).
    (NoCTCModel, status.HTTP_409_CONFLICT),
    (JobConflict, status.HTTP_409_CONFLICT),
    (ImportConflict, status.HTTP_409_CONFLICT),
    (ItemNotAssigned, status.HTTP_409_CONFLICT),
    (AnswerConflict, status.HTTP_409_CONFLICT),
    (CampaignClosed, status.HTTP_409_CONFLICT),
    (ListenedTooLittle, status.HTTP_409_CONFLICT),
    (ChangeTooLate, status.HTTP_409_CONFLICT),
    (NoAccess, status.HTTP_403_FORBIDDEN),
    (RecordingTooLarge, status.HTTP_413_REQUEST_ENTITY_TOO_LARGE),
    # Too much at once: try again after the Retry-After header's seconds.
    (TooManyActivePredictions, status.HTTP_429_TOO_MANY_REQUESTS),
    # The request itself is wrong; the message says how.
    (RecordingError, status.HTTP_400_BAD_REQUEST),
    (JobError, status.HTTP_400_BAD_REQUEST),
    (ReportInputError, status.HTTP_400_BAD_REQUEST),
    (InvalidAnswer, status.HTTP_400_BAD_REQUEST),
    (CampaignSetupError, status.HTTP_400_BAD_REQUEST),
    (ImportRequestError, status.HTTP_400_BAD_REQUEST),
    # An installation problem, not the user's: the message says which file.
    (ModelUnusable, status.HTTP_500_INTERNAL_SERVER_ERROR),
    (ModelFileMissing, status.HTTP_500_INTERNAL_SERVER_ERROR),
    # A service the site depends on is away: nothing was done, try again later.
    (TaskQueueUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
)
# A 503 tells clients when to try again: a broker restart takes seconds to a minute.
RETRY_AFTER_S = 30
DOMAIN_ERRORS: tuple[type[Exception], ...] = tuple(error for error, _ in STATUS_OF_DOMAIN_ERROR)


def domain_error_status(exc: BaseException) -> int | None:
    """The HTTP status of a domain error; None for any other exception."""
    for error, code in STATUS_OF_DOMAIN_ERROR:
        if isinstance(exc, error):
            return code
    return None


def domain_error_body(exc: BaseException) -> dict:
    body = {"detail": str(exc)}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    job_id = getattr(exc, "job_id", None)
    if job_id is not None:  # the job the request made, saved even though it failed (503)
        body["job"] = job_id
    return body


def domain_error_headers(exc: BaseException, code: int | None = None) -> dict:
    """``Retry-After`` for an error that says when to try again (its ``retry_after`` seconds); a 503
    without one gets ``RETRY_AFTER_S``."""
    retry_after = getattr(exc, "retry_after", None)
    if not retry_after and code == status.HTTP_503_SERVICE_UNAVAILABLE:
        retry_after = RETRY_AFTER_S
    return {"Retry-After": str(int(retry_after))} if retry_after else {}


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus the domain errors: ``{"detail": message}`` with the mapped status."""
    code = domain_error_status(exc)
    if code is None:
        return exception_handler(exc, context)
    return Response(domain_error_body(exc), status=code, headers=domain_error_headers(exc, code))


def render_domain_error(
    request: HttpRequest, exc: BaseException, template: str | None = None, context: dict | None = None
) -> HttpResponse:
    """A page answering a domain error with its status: ``template`` rendered with the message as
    ``error`` (beside ``context``), or without a template the message as plain text."""
    code = domain_error_status(exc)
    if template is None:
        response = HttpResponse(str(exc), status=code, content_type="text/plain; charset=utf-8")
    else:
        response = render(request, template, {**(context or {}), "error": str(exc)}, status=code)
    for header, value in domain_error_headers(exc).items():
        response[header] = value
    return response
