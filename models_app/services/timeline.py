"""The emotion timeline of a researcher's recording: check the upload (its header only:
``recording_check_header``), pick the CTC model, draw the timeline (models_app/ser/timeline.py).

``recording_timeline`` runs in process (``manage.py predict``; an upload is read from a temporary
file deleted when the work is done). The web uses services/predictions.py instead, which checks
the header in the request and has a Celery worker call ``stored_recording_timeline``.

Limits: ``EMOLAB_PREDICT_MAX_BYTES`` (largest upload), ``EMOLAB_PREDICT_MAX_SECONDS`` (longest
recording) and ``EMOLAB_PREDICT_MAX_SAMPLES`` (samples to decode), set in emolab/settings.py from
the environment, with their defaults and reasons there; the rate and channel bounds are fixed
(ser/recording_header.py).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings

from models_app.models import ModelArtifact
from models_app.selectors.timeline import CTC_METHOD, ctc_artifact_for
from models_app.ser.audio import InvalidAudio
from models_app.ser.features import FeatureConfig, feature_config_for_preset
from models_app.ser.progress import ProgressCallback
from models_app.ser.recording_header import RecordingLimits, RecordingOverLimits, check_recording_header
from models_app.ser.timeline import Timeline, emotion_timeline
from models_app.ser.timeline_audio import RecordingInfo, read_mono
from models_app.ser.timeline_plot import waveform_envelope

MODEL_CACHE_SIZE = 4  # loaded CTC models kept per process: a few MB each, loading one takes ~50 ms


class RecordingError(Exception):
    """The upload cannot be given a timeline; the message says why, for the person who sent it."""


class InvalidRecording(RecordingError):
    """Not audio, not wav/flac/ogg, empty, damaged, or too short for one frame."""


class RecordingTooLarge(RecordingError):
    """Over EMOLAB_PREDICT_MAX_BYTES."""


class RecordingTooLong(RecordingError):
    """Over EMOLAB_PREDICT_MAX_SECONDS."""


class ModelUnusable(Exception):
    """The CTC model's file is missing or unreadable: an installation problem, not the user's."""


def predict_max_bytes() -> int:
    return settings.EMOLAB_PREDICT_MAX_BYTES


def predict_max_seconds() -> float:
    return settings.EMOLAB_PREDICT_MAX_SECONDS


def recording_limits() -> RecordingLimits:
    """The bounds a recording's header is checked against (ser/recording_header.py): the fixed
    rate and channel bounds, and the configured length and sample count."""
    return RecordingLimits(max_seconds=predict_max_seconds(), max_samples=settings.EMOLAB_PREDICT_MAX_SAMPLES)


def recording_check_header(path: Path, name: str) -> RecordingInfo:
    """Check a recording from its header alone (nothing is decoded): InvalidRecording for a file
    that is not audio we read, damaged, or impossible (rate, channels, a size its data does not
    have), RecordingTooLong for one over the configured limits. The messages name the file."""
    if path.stat().st_size == 0:
        raise InvalidRecording("The file is empty.")
    try:
        return check_recording_header(path, recording_limits())
    except RecordingOverLimits as exc:
        raise RecordingTooLong(f"{name}: {_sentence(str(exc))}") from None
    except InvalidAudio as exc:
        raise InvalidRecording(f"{name}: {_sentence(str(exc))}") from None


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def recording_check_size(*, n_bytes: int | None) -> None:
    """Refuse an upload over the size limit before it is read (``n_bytes`` may be the request's
    Content-Length: a little more than the file, so this errs on the side of refusing)."""
    limit = predict_max_bytes()
    if n_bytes is not None and n_bytes > limit:
        raise RecordingTooLarge(
            f"The recording is {_size(n_bytes)}; the limit is {_size(limit)} (EMOLAB_PREDICT_MAX_BYTES)."
        )


# --- models -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    estimator: object  # a fitted CTCBLSTM
    feature_config: FeatureConfig  # what its training features were computed with
    label_names: tuple[str, ...]  # the job's class names, index order


_cache: OrderedDict[tuple, LoadedModel] = OrderedDict()
_cache_lock = threading.Lock()


def ctc_model_load(*, artifact: ModelArtifact) -> LoadedModel:
    """The artifact's estimator, loaded once per process (least recently used of
    MODEL_CACHE_SIZE evicted). Keyed by artifact id, path and the file's modification time and
    size: a job that is finalized again gets new artifact rows, so a stale model is never served."""
    from models_app.ser.persistence import CheckpointError, load_estimator

    path = Path(settings.MEDIA_ROOT) / artifact.path
    try:  # the file's identity too: a worker outlives databases whose artifact ids repeat (tests)
        stat = path.stat()
        key = (artifact.pk, artifact.path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = (artifact.pk, artifact.path, None, None)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    try:
        estimator, metadata = load_estimator(path)
    except (OSError, CheckpointError) as exc:
        raise ModelUnusable(f"The CTC model of job {artifact.job_id} cannot be loaded ({exc}).") from exc
    if metadata["method"] != CTC_METHOD:
        raise ModelUnusable(f"The model file of job {artifact.job_id} holds a {metadata['method']} model, not CTC.")
    if artifact.feature_config:
        feature_config = FeatureConfig.from_dict(artifact.feature_config)
    else:  # a job without a recorded feature set: the preset its checkpoint names
        feature_config = feature_config_for_preset(metadata.get("feature_preset") or "paper")
    loaded = LoadedModel(estimator, feature_config, tuple(str(name) for name in artifact.classes))
    with _cache_lock:
        _cache[key] = loaded
        while len(_cache) > MODEL_CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded


def ctc_model_from_file(path: Path | str) -> tuple[LoadedModel, dict]:
    """A downloaded model file (models_app/ser/model_file.py) as a LoadedModel, with its card.
    Raises ModelUnusable (the message says why, naming both code versions when they do not fit)."""
    from models_app.ser.model_file import ModelFileError, load_model_file

    path = Path(path)
    if not path.is_file():
        raise ModelUnusable(f"{path}: no such model file")
    with tempfile.TemporaryDirectory(prefix="emolab-model-") as scratch:
        try:
            loaded = load_model_file(path, scratch=Path(scratch))
        except ModelFileError as exc:
            raise ModelUnusable(str(exc)) from None
    card = loaded.card
    if card["method"] != CTC_METHOD:
        raise ModelUnusable(f"{path} holds a {card['method']} model; the timeline needs a CTC model.")
    feature_config = FeatureConfig.from_dict(card["feature_config"]) if card.get("feature_config") else None
    if feature_config is None:
        feature_config = feature_config_for_preset((card.get("config") or {}).get("feature_preset") or "paper")
    return LoadedModel(loaded.estimator, feature_config, tuple(str(name) for name in card["classes"])), card


def ctc_model_cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


# --- timelines --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingTimeline:
    timeline: Timeline
    job_id: int | None
    artifact_id: int | None  # None: a model from a file (manage.py predict --model)
    file_name: str
    format: str
    sample_rate: int  # of the file, Hz
    n_channels: int
    envelope: tuple[np.ndarray, np.ndarray]  # waveform min/max for the figure (timeline_plot)


def recording_timeline(
    *,
    upload=None,
    path: Path | None = None,
    job_id: int | None = None,
    progress: ProgressCallback | None = None,
    model_file: Path | None = None,
) -> RecordingTimeline:
    """The emotion timeline of one recording, from an uploaded file (``upload``: a Django
    UploadedFile) or a file on disk (``path``, the command line).

    The model is chosen first (selectors.timeline.ctc_artifact_for: raises UnknownJob or
    NoCTCModel), then the recording is checked against the limits and decoded. Raises
    InvalidRecording, RecordingTooLarge or RecordingTooLong with a message for the user, and
    ModelUnusable when the model file is broken.
    """
    if (upload is None) == (path is None):
        raise ValueError("give exactly one of upload and path")
    if model_file is not None:  # a downloaded model: no database row behind it
        model, card = ctc_model_from_file(model_file)
        source = (card.get("training", {}).get("job"), None)
    else:
        artifact = ctc_artifact_for(job_id=job_id)
        model = ctc_model_load(artifact=artifact)
        source = (artifact.job_id, artifact.pk)
    if upload is not None:
        recording_check_size(n_bytes=upload.size)
        with _upload_on_disk(upload) as on_disk:
            return _timeline_of_file(on_disk, upload.name or "recording", source, model, progress)
    path = Path(path)
    if not path.is_file():
        raise InvalidRecording(f"{path}: no such file")
    recording_check_size(n_bytes=path.stat().st_size)
    return _timeline_of_file(path, path.name, source, model, progress)


def stored_recording_timeline(
    *, artifact: ModelArtifact, path: Path, name: str, progress: ProgressCallback | None = None
) -> RecordingTimeline:
    """The timeline of a recording already on disk with the model already chosen (the prediction
    task: the model was chosen when the upload was accepted). Same checks and errors as
    :func:`recording_timeline`."""
    model = ctc_model_load(artifact=artifact)
    if not path.is_file():
        raise InvalidRecording(f"{name}: the stored upload is gone")
    return _timeline_of_file(path, name, (artifact.job_id, artifact.pk), model, progress)


class _upload_on_disk:
    """The upload as a file path for libsndfile: Django's own temporary file when the upload
    was large enough to be streamed to disk, else a private temporary copy, removed on exit."""

    def __init__(self, upload):
        self.upload = upload
        self.folder: str | None = None

    def __enter__(self) -> Path:
        if hasattr(self.upload, "temporary_file_path"):
            return Path(self.upload.temporary_file_path())
        self.folder = tempfile.mkdtemp(prefix="emolab-timeline-")
        path = Path(self.folder) / "recording"
        written = 0
        with path.open("wb") as handle:
            for chunk in self.upload.chunks():
                written += len(chunk)
                recording_check_size(n_bytes=written)  # a file object that lied about its size
                handle.write(chunk)
        return path

    def __exit__(self, *exc_info) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _timeline_of_file(path: Path, name: str, source, model: LoadedModel, progress) -> RecordingTimeline:
    """``source``: (job id, artifact id) of the model; the artifact id is None for a model file."""
    info = recording_check_header(path, name)
    feature_config = model.feature_config
    if info.duration_s < feature_config.window_s:
        raise InvalidRecording(
            f"{name} lasts {info.duration_s:.3f} s, shorter than one analysis frame ({feature_config.window_s} s)."
        )
    try:
        signal = read_mono(path, target_rate=feature_config.sample_rate, progress=progress)
        timeline = emotion_timeline(
            model.estimator,
            signal,
            feature_config.sample_rate,
            feature_config=feature_config,
            label_names=model.label_names,
            progress=progress,
        )
    except InvalidAudio as exc:
        raise InvalidRecording(f"{name}: {_sentence(str(exc))}") from None
    return RecordingTimeline(
        timeline=timeline,
        job_id=source[0],
        artifact_id=source[1],
        file_name=name,
        format=info.format,
        sample_rate=info.sample_rate,
        n_channels=info.n_channels,
        envelope=waveform_envelope(signal),
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith(".") else text + "."


def timeline_payload(result: RecordingTimeline, *, decimals: int = 4) -> dict:
    """The API's (and the command's --json) view of a timeline: plain JSON types, probabilities
    rounded to ``decimals`` (1e-4 is finer than any decision made from them)."""
    timeline = result.timeline
    return {
        "segments": [
            {
                "start": round(s.start_s, 3),
                "end": round(s.end_s, 3),
                "emotion": s.emotion,
                "confidence": round(s.confidence, decimals),
            }
            for s in timeline.segments
        ],
        "frame_step_s": timeline.frame_step_s,
        "frame_window_s": timeline.window_s,
        "classes": list(timeline.classes),
        "columns": list(timeline.columns),
        "probabilities": np.round(timeline.probabilities, decimals).tolist(),
        "scored": timeline.scored.tolist(),
        "job": result.job_id,
        "duration": round(timeline.duration_s, 4),
        "file": {
            "name": result.file_name,
            "format": result.format,
            "sample_rate": result.sample_rate,
            "channels": result.n_channels,
        },
    }
