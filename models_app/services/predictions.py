"""Emotion timelines of uploads, drawn by a Celery worker (issue 12: the web process never decodes).

The web request (``prediction_create``) checks what is cheap and bounded: the size, the model, the
user's active predictions, and the recording's header (ser/recording_header.py). Only then is the
upload stored under MEDIA_ROOT/predictions/ and the task sent. The worker (``prediction_run``)
decodes and runs the model under soft and hard time limits, writing its progress to the row, then
removes the upload: only the result stays, until ``predictions_clean_up`` deletes it after
EMOLAB_PREDICT_KEEP_HOURS. A refused upload leaves nothing behind.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from emolab.celery import BrokerUnreachable, TaskQueueUnavailable, send_task_now
from models_app.models import ModelArtifact, Prediction
from models_app.selectors.timeline import ctc_artifact_for
from models_app.ser.features import FeatureConfig
from models_app.ser.progress import ProgressEvent
from models_app.ser.timeline_plot import timeline_svg
from models_app.services.timeline import (
    InvalidRecording,
    ModelUnusable,
    RecordingError,
    recording_check_header,
    recording_check_size,
    stored_recording_timeline,
    timeline_payload,
)

logger = logging.getLogger(__name__)

PREDICT_TASK = "models_app.predictions.run"
CLEAN_UP_TASK = "models_app.predictions.clean_up"
UPLOAD_FOLDER = "predictions"
# Seconds a client is asked to wait when it has too many predictions running: a minute of audio
# takes about a second on a free worker, an hour about a minute.
RETRY_AFTER_S = 30
# The POST waits for the task only when the recording is short enough to be done within the wait
# on a free worker; a longer one is answered 202 at once instead of holding a web worker for nothing.
WAIT_FOR_RECORDINGS_UP_TO_S = 120.0
PROGRESS_WRITE_INTERVAL_S = 0.5  # progress reaches the database at most twice a second
# Where the stages sit on the progress bar: decoding, then the features (no events), then the windows.
_STAGE_SPAN = {"decoding": (0.0, 0.35), "timeline": (0.45, 0.95)}


class TooManyActivePredictions(Exception):
    """The user already has EMOLAB_PREDICT_MAX_ACTIVE predictions queued or running (429)."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_S):
        super().__init__(message)
        self.retry_after = retry_after


def prediction_time_limits() -> dict:
    """The task's soft and hard limits (seconds): the soft one fails the prediction with the reason,
    the hard one, a minute later, kills a task that ignores it."""
    soft = settings.EMOLAB_PREDICT_TIME_LIMIT_S
    return {"soft_time_limit": soft, "time_limit": soft + 60}


def upload_path(prediction: Prediction) -> Path | None:
    return Path(settings.MEDIA_ROOT) / prediction.upload if prediction.upload else None


# --- the web request --------------------------------------------------------------------------


def prediction_create(*, owner, upload, job_id: int | None = None) -> Prediction:
    """Accept an upload for a timeline: check it, store it, send the task. Raises (each with a
    message for the user) RecordingTooLarge, InvalidRecording, RecordingTooLong, UnknownJob,
    NoCTCModel, ModelUnusable, TooManyActivePredictions, TaskQueueUnavailable. Nothing is
    stored for a refused upload."""
    recording_check_size(n_bytes=upload.size)
    artifact = ctc_artifact_for(job_id=job_id)
    if not (Path(settings.MEDIA_ROOT) / artifact.path).is_file():
        raise ModelUnusable(f"The CTC model of job {artifact.job_id} cannot be loaded (its file is missing).")
    _refuse_if_too_many_active(owner)  # before the upload is written anywhere
    name = (upload.name or "recording")[-255:]
    relative = f"{UPLOAD_FOLDER}/{uuid.uuid4().hex}.upload"
    stored = Path(settings.MEDIA_ROOT) / relative
    try:
        _write_upload(upload, stored)
        info = recording_check_header(stored, name)
        _refuse_if_shorter_than_a_frame(artifact, info.duration_s, name)
        with transaction.atomic():
            # One user's requests queue here, so two at once cannot both take the last free place.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
            _refuse_if_too_many_active(owner)
            prediction = Prediction.objects.create(
                owner=owner,
                job_id=artifact.job_id,
                artifact=artifact,
                upload=relative,
                file_name=name,
                file_format=info.format,
                sample_rate=info.sample_rate,
                n_channels=info.n_channels,
                duration_s=info.duration_s,
            )
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    _send(prediction)
    return prediction


def _send(prediction: Prediction) -> None:
    """Send the task, failing within seconds when the broker is away (emolab.celery.send_task_now)."""
    try:
        send_task_now(PREDICT_TASK, prediction.pk)
    except BrokerUnreachable as exc:
        logger.warning("prediction %s: the task could not be sent: %s", prediction.pk, exc)
        reason = "the task queue is unreachable; try again in a few minutes"
        prediction_fail(prediction_id=prediction.pk, error=reason, kind=Prediction.ErrorKind.QUEUE)
        raise TaskQueueUnavailable(f"The recording was not processed: {reason}.") from None


def _write_upload(upload, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("wb") as handle:
        for chunk in upload.chunks():
            written += len(chunk)
            recording_check_size(n_bytes=written)  # a file object that lied about its size
            handle.write(chunk)


def _refuse_if_too_many_active(owner) -> None:
    limit = settings.EMOLAB_PREDICT_MAX_ACTIVE
    active = Prediction.objects.filter(owner=owner, status__in=Prediction.ACTIVE).count()
    if active >= limit:
        raise TooManyActivePredictions(
            f"You have {active} recordings being processed; at most {limit} at once "
            f"(EMOLAB_PREDICT_MAX_ACTIVE). Try again when one has finished (GET /api/predictions/{{id}}/ "
            "says how far each is)."
        )


def _refuse_if_shorter_than_a_frame(artifact: ModelArtifact, duration_s: float, name: str) -> None:
    """The model's frame length, when its job recorded the feature settings (the worker checks
    again with the checkpoint's own settings otherwise)."""
    if not artifact.feature_config:
        return
    window_s = FeatureConfig.from_dict(artifact.feature_config).window_s
    if duration_s < window_s:
        raise InvalidRecording(f"{name} lasts {duration_s:.3f} s, shorter than one analysis frame ({window_s} s).")


def prediction_worth_waiting_for(prediction: Prediction) -> bool:
    return settings.EMOLAB_PREDICT_WAIT_S > 0 and prediction.duration_s <= WAIT_FOR_RECORDINGS_UP_TO_S


@contextmanager
def prediction_wait_slot() -> Iterator[bool]:
    """One of the EMOLAB_PREDICT_MAX_WAITING places for a web request waiting for its task, taken
    in the shared cache (True) or none free (False: answer 202 at once). A waiting request holds a
    web worker; without this bound a few users posting short clips at once could hold every
    worker for the whole wait, and the site would stall for everybody else."""
    timeout = int(settings.EMOLAB_PREDICT_WAIT_S) + 30  # a crashed holder's place frees itself
    for index in range(settings.EMOLAB_PREDICT_MAX_WAITING):
        key = f"emolab:predict-wait:{index}"
        if cache.add(key, 1, timeout=timeout):
            try:
                yield True
            finally:
                cache.delete(key)
            return
    yield False


def prediction_discard(*, prediction_id: int) -> None:
    """Delete a prediction and its upload (a failed one whose error was answered at once: the
    sender got the reason, so nothing is kept)."""
    prediction = Prediction.objects.filter(pk=prediction_id).first()
    if prediction is None:
        return
    _remove_upload(prediction)
    prediction.delete()


# --- the worker -------------------------------------------------------------------------------


class _ProgressWriter:
    """The numerical core's progress events as the row's ``progress`` (0..1) and ``stage``,
    written at most every PROGRESS_WRITE_INTERVAL_S."""

    def __init__(self, prediction_id: int):
        self.prediction_id = prediction_id
        self.last_write = 0.0

    def __call__(self, event: ProgressEvent) -> None:
        span = _STAGE_SPAN.get(event.stage)
        if span is None or not event.total:
            return
        now = time.monotonic()
        if now - self.last_write < PROGRESS_WRITE_INTERVAL_S and event.done < event.total:
            return
        self.last_write = now
        start, end = span
        self.write(start + (end - start) * event.fraction, event.stage)

    def write(self, fraction: float, stage: str) -> None:
        Prediction.objects.filter(pk=self.prediction_id, status=Prediction.Status.RUNNING).update(
            progress=round(fraction, 4), stage=stage
        )


def prediction_run(*, prediction_id: int) -> None:
    """Decode the stored upload, draw its timeline and figure, record the result (or the reason
    it failed), and remove the upload. Safe to repeat (the task is acknowledged late): a finished
    or deleted prediction is left alone, a running one (its worker died) starts again. Any other
    exception (a bug, the time limit) is the task's to record (``prediction_fail``)."""
    prediction = Prediction.objects.select_related("artifact").filter(pk=prediction_id).first()
    if prediction is None or prediction.is_finished:
        return
    Prediction.objects.filter(pk=prediction_id).update(
        status=Prediction.Status.RUNNING, started_at=timezone.now(), progress=0.0, stage="decoding"
    )
    writer = _ProgressWriter(prediction_id)
    try:
        if prediction.artifact is None:
            raise ModelUnusable("The model chosen for this recording has been deleted since it was uploaded.")
        result = stored_recording_timeline(
            artifact=prediction.artifact,
            path=upload_path(prediction) or Path("/nonexistent"),
            name=prediction.file_name,
            progress=writer,
        )
        writer.write(0.97, "figure")
        payload = timeline_payload(result)
        # Our own matplotlib output: no user text goes into the figure (the file name stays in the HTML).
        figure = timeline_svg(result.timeline, result.envelope)
    except RecordingError as exc:
        prediction_fail(prediction_id=prediction_id, error=str(exc), kind=Prediction.ErrorKind.RECORDING)
        return
    except ModelUnusable as exc:
        prediction_fail(prediction_id=prediction_id, error=str(exc), kind=Prediction.ErrorKind.MODEL)
        return
    Prediction.objects.filter(pk=prediction_id).update(
        status=Prediction.Status.SUCCEEDED,
        progress=1.0,
        stage="",
        result=payload,
        figure_svg=figure,
        finished_at=timezone.now(),
    )
    _remove_upload(prediction)


def prediction_fail(*, prediction_id: int, error: str, kind: str) -> None:
    """Record why a prediction failed and remove its upload (it will not be read again)."""
    prediction = Prediction.objects.filter(pk=prediction_id).first()
    if prediction is None:
        return
    Prediction.objects.filter(pk=prediction_id).update(
        status=Prediction.Status.FAILED, error=error, error_kind=kind, stage="", finished_at=timezone.now()
    )
    _remove_upload(prediction)


def _remove_upload(prediction: Prediction) -> None:
    path = upload_path(prediction)
    if path is not None:
        path.unlink(missing_ok=True)
        Prediction.objects.filter(pk=prediction.pk).update(upload="")


# --- clean-up (Celery beat) -------------------------------------------------------------------


def predictions_clean_up(*, now=None) -> dict:
    """Delete predictions older than EMOLAB_PREDICT_KEEP_HOURS with their uploads, and upload
    files nobody refers to that are as old (a request that died between writing and recording
    one); fail predictions still running past the task's hard time limit (their worker is gone
    and the broker will not bring the task back). Returns the counts."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.EMOLAB_PREDICT_KEEP_HOURS)
    expired = list(Prediction.objects.filter(created_at__lt=cutoff))
    for prediction in expired:
        _remove_upload(prediction)
    deleted, _ = Prediction.objects.filter(pk__in=[p.pk for p in expired]).delete()

    hard_limit = prediction_time_limits()["time_limit"]
    stuck = Prediction.objects.filter(
        status=Prediction.Status.RUNNING, started_at__lt=now - timedelta(seconds=hard_limit + 60)
    )
    n_stuck = 0
    for prediction in stuck:
        prediction_fail(
            prediction_id=prediction.pk,
            error=f"The worker stopped before the timeline was done (time limit {hard_limit} s).",
            kind=Prediction.ErrorKind.TIME_LIMIT,
        )
        n_stuck += 1

    folder = Path(settings.MEDIA_ROOT) / UPLOAD_FOLDER
    referenced = set(Prediction.objects.exclude(upload="").values_list("upload", flat=True))
    orphans = 0
    if folder.is_dir():
        for path in folder.iterdir():
            relative = f"{UPLOAD_FOLDER}/{path.name}"
            if relative not in referenced and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                orphans += 1
    return {"deleted": deleted, "failed_stuck": n_stuck, "orphan_uploads": orphans}
