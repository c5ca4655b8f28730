"""Celery tasks of feature extraction. Thin: ids in, one service call, the outcome recorded by
the services. Safe to repeat (``acks_late``): a chunk already on disk is not extracted again."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from models_app.services import features as feature_services

# A chunk is ~10 minutes of audio (about a second of work); the limits only stop a stuck task.
# The hard limit sits above the soft one so the soft limit's failure can be recorded first.
CHUNK_LIMITS = {"soft_time_limit": 15 * 60, "time_limit": 15 * 60 + 60}
# Packing an IEMOCAP-size set is one sequential write of ~30 MB.
FINALISE_LIMITS = {"soft_time_limit": 10 * 60, "time_limit": 10 * 60 + 60}


@shared_task(name=feature_services.EXTRACT_CHUNK_TASK, acks_late=True, reject_on_worker_lost=True, **CHUNK_LIMITS)
def extract_feature_chunk(feature_set_id: int, chunk_index: int) -> None:
    try:
        feature_services.feature_set_run_chunk(feature_set_id=feature_set_id, chunk_index=chunk_index)
    except SoftTimeLimitExceeded:
        feature_services.feature_set_fail(
            feature_set_id=feature_set_id, error=f"chunk {chunk_index} exceeded its time limit"
        )


@shared_task(name=feature_services.FINALISE_TASK, acks_late=True, reject_on_worker_lost=True, **FINALISE_LIMITS)
def finalise_feature_set(feature_set_id: int) -> None:
    try:
        feature_services.feature_set_finalise(feature_set_id=feature_set_id)
    except SoftTimeLimitExceeded:
        feature_services.feature_set_fail(feature_set_id=feature_set_id, error="packing exceeded its time limit")
