"""Celery tasks of the emotion timeline. Thin: an id in, one service call; the time limits and
failures recorded through the services. Safe to repeat (``acks_late``): see prediction_run."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from models_app.models import Prediction
from models_app.services import predictions as prediction_services

_LIMITS = prediction_services.prediction_time_limits()


@shared_task(name=prediction_services.PREDICT_TASK, acks_late=True, reject_on_worker_lost=True, **_LIMITS)
def run_prediction(prediction_id: int) -> None:
    _limit_torch_threads()
    try:
        prediction_services.prediction_run(prediction_id=prediction_id)
    except SoftTimeLimitExceeded:
        prediction_services.prediction_fail(
            prediction_id=prediction_id,
            error=f"The timeline took longer than the time limit ({_LIMITS['soft_time_limit']} s, "
            "EMOLAB_PREDICT_TIME_LIMIT_S); send a shorter recording or ask an admin to raise the limit.",
            kind=Prediction.ErrorKind.TIME_LIMIT,
        )
    except Exception:
        prediction_services.prediction_fail(
            prediction_id=prediction_id,
            error="An internal error stopped the timeline (the server's log has the details).",
            kind=Prediction.ErrorKind.INTERNAL,
        )
        raise


def _limit_torch_threads() -> None:
    """One intra-op thread per timeline (EMOLAB_PREDICT_TORCH_THREADS): torch otherwise takes every
    core, which on a machine that also runs the web workers leaves their requests waiting for CPU.
    Training jobs set their own count (torch_session), so this does not leak into them."""
    import torch

    torch.set_num_threads(max(1, settings.EMOLAB_PREDICT_TORCH_THREADS))


@shared_task(name=prediction_services.CLEAN_UP_TASK, acks_late=True, soft_time_limit=300, time_limit=360)
def clean_up_predictions() -> dict:
    return prediction_services.predictions_clean_up()
