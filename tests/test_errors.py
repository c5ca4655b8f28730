"""The one mapping from domain errors to HTTP statuses (emolab/errors.py)."""

from itertools import combinations

from django.test import RequestFactory

from emolab.errors import STATUS_OF_DOMAIN_ERROR, domain_error_status, render_domain_error
from models_app.selectors.timeline import NoCTCModel, UnknownJob
from models_app.services.jobs import JobConflict, JobError
from models_app.services.timeline import InvalidRecording, RecordingTooLarge, RecordingTooLong


def test_every_entry_is_reachable():
    """An entry below one of its base classes would never be used: the base class would answer."""
    for (earlier, _), (later, _) in combinations(STATUS_OF_DOMAIN_ERROR, 2):
        assert not issubclass(later, earlier), f"{later.__name__} is shadowed by {earlier.__name__}"


def test_statuses_of_the_services_errors():
    assert domain_error_status(UnknownJob("no job 9")) == 404
    assert domain_error_status(NoCTCModel("train one")) == 409
    assert domain_error_status(RecordingTooLarge("big")) == 413
    assert domain_error_status(RecordingTooLong("long")) == 400
    assert domain_error_status(InvalidRecording("noise")) == 400
    assert domain_error_status(JobConflict("finished")) == 409
    assert domain_error_status(JobError("no such preset")) == 400
    assert domain_error_status(ValueError("a bug")) is None


def test_a_page_answers_with_the_errors_status_and_message():
    request = RequestFactory().get("/")
    response = render_domain_error(request, UnknownJob("There is no training job 9."))
    assert response.status_code == 404
    assert response.content.decode() == "There is no training job 9."
    assert response["Content-Type"].startswith("text/plain")
