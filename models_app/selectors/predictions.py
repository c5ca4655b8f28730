"""Reads of timeline predictions: a user's own, and waiting for one to finish."""

from __future__ import annotations

import time

from models_app.models import Prediction


class UnknownPrediction(Exception):
    """No such prediction for this user: somebody else's answers the same, so ids reveal nothing."""


def prediction_of_owner(*, owner, prediction_id: int) -> Prediction:
    prediction = Prediction.objects.filter(pk=prediction_id, owner=owner).first()
    if prediction is None:
        raise UnknownPrediction(f"There is no prediction {prediction_id} of yours.")
    return prediction


def recent_predictions_of_owner(*, owner, limit: int = 10) -> list[Prediction]:
    """The owner's latest predictions, newest first, without their (large) results and figures."""
    return list(Prediction.objects.filter(owner=owner).defer("result", "figure_svg").order_by("-created_at")[:limit])


def active_prediction_count(*, owner) -> int:
    return Prediction.objects.filter(owner=owner, status__in=Prediction.ACTIVE).count()


def prediction_wait(*, prediction_id: int, timeout_s: float, interval_s: float = 0.1) -> Prediction | None:
    """The prediction once it has finished, reading the row every ``interval_s`` (growing to 0.5 s)
    for at most ``timeout_s``; the unfinished row when time is up; None when it was deleted."""
    deadline = time.monotonic() + timeout_s
    while True:
        prediction = Prediction.objects.filter(pk=prediction_id).first()
        if prediction is None or prediction.is_finished:
            return prediction
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return prediction
        time.sleep(min(interval_s, remaining))
        interval_s = min(interval_s * 1.5, 0.5)
