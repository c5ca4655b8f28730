"""Feature extraction for a corpus: plan the set, extract chunks into shards, pack, mark ready.

One code path serves both ways of running it:

- in-process (``feature_set_ensure``, used by commands and by a training job's prepare step);
- on Celery workers (``feature_set_extract_async`` enqueues one task per missing chunk after
  commit; the task that completes the last chunk packs the set).

A chunk's result is a shard file written atomically under a key derived from the configuration
and the audio it covers, so a repeated or redelivered chunk writes the same bytes again and
nothing is counted twice. Only packing marks a set ready; a failed or interrupted extraction
leaves it ``failed`` or ``running``, and the next extraction resumes from the shards on disk.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotation.models import Corpus, Utterance
from emolab.celery import enqueue_after_commit
from models_app.models import FeatureSet
from models_app.ser.audio import InvalidAudio, read_audio
from models_app.ser.feature_store import (
    UtteranceFeatures,
    pack_shards,
    remove_store,
    shard_exists,
    write_shard,
)
from models_app.ser.features import FeatureConfig, extract, feature_config_for_preset
from models_app.ser.features.columns import feature_names
from models_app.ser.features.config import DEFAULT_FEATURE_SET
from models_app.ser.progress import ProgressCallback, ProgressEvent
from models_app.services.failures import error_text

logger = logging.getLogger(__name__)

# A chunk holds about this much audio (seconds) or this many utterances, whichever comes first:
# a few seconds of work per Celery task, so progress moves and a lost task costs little.
CHUNK_AUDIO_SECONDS = 600.0
CHUNK_MAX_UTTERANCES = 250
_SAFE_FOLDER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# The Celery tasks of an extraction (models_app/tasks/features.py), sent by name (emolab/celery.py).
EXTRACT_CHUNK_TASK = "models_app.features.extract_chunk"
FINALISE_TASK = "models_app.features.finalise"


class FeatureExtractionError(Exception):
    """Extraction cannot go on; the message names the utterance and what is wrong with it."""


# --- planning -------------------------------------------------------------------------------


def _store_path(corpus: Corpus, config_hash: str) -> str:
    folder = corpus.name if _SAFE_FOLDER_NAME.match(corpus.name) else f"corpus-{corpus.pk}"
    return f"features/{folder}/{config_hash}"


def _fingerprint(rows: Sequence[tuple[int, str, float]]) -> str:
    digest = hashlib.sha256()
    for pk, audio_sha256, _ in rows:
        digest.update(f"{pk}:{audio_sha256};".encode())
    return digest.hexdigest()


def _plan_chunks(config_hash: str, rows: Sequence[tuple[int, str, float]]) -> list[dict]:
    """Consecutive utterances (by id) grouped to ~CHUNK_AUDIO_SECONDS of audio each. A chunk's key
    hashes the configuration and its utterances' audio, so equal work has an equal shard name."""
    chunks, current, seconds = [], [], 0.0

    def close() -> None:
        digest = hashlib.sha256(config_hash.encode())
        for pk, audio_sha256, _ in current:
            digest.update(f"{pk}:{audio_sha256};".encode())
        chunks.append({"key": digest.hexdigest()[:32], "ids": [pk for pk, _, _ in current]})

    for row in rows:
        current.append(row)
        seconds += max(row[2], 0.0)
        if seconds >= CHUNK_AUDIO_SECONDS or len(current) >= CHUNK_MAX_UTTERANCES:
            close()
            current, seconds = [], 0.0
    if current:
        close()
    return chunks


def _preset_label(preset: str, features: str) -> str:
    return preset if features == DEFAULT_FEATURE_SET else f"{preset}/{features}"


def feature_set_prepare(*, corpus: Corpus, preset: str = "paper", features: str = DEFAULT_FEATURE_SET) -> FeatureSet:
    """The set for (corpus, preset's frames filled with ``features``), created or re-planned as needed.

    A ready set whose corpus is unchanged is returned as it is (the cache). A new set, a set whose
    corpus audio changed since, or a failed one is (re)planned and left ``pending``; chunks already
    on disk for the same audio are kept and reused.
    """
    config = feature_config_for_preset(preset, features)
    config_hash = config.config_hash()
    rows = list(Utterance.objects.filter(corpus=corpus).order_by("pk").values_list("pk", "audio_sha256", "duration_s"))
    fingerprint = _fingerprint(rows)
    with transaction.atomic():
        feature_set, _ = FeatureSet.objects.select_for_update().get_or_create(
            corpus=corpus,
            config_hash=config_hash,
            defaults={
                "preset": _preset_label(preset, features),
                "config": config.to_dict(),
                "store_path": _store_path(corpus, config_hash),
                "progress_total": len(rows),
            },
        )
        if feature_set.status == FeatureSet.Status.READY and feature_set.corpus_fingerprint == fingerprint:
            return feature_set
        if feature_set.corpus_fingerprint != fingerprint or not feature_set.chunks:
            feature_set.chunks = _plan_chunks(config_hash, rows)
            feature_set.corpus_fingerprint = fingerprint
            feature_set.progress_total = len(rows)
        if feature_set.status != FeatureSet.Status.RUNNING:
            feature_set.status = FeatureSet.Status.PENDING
        feature_set.error = ""
        feature_set.finished_at = None
        feature_set.progress_done = _utterances_done(feature_set)
        feature_set.save()
    return feature_set


def _utterances_done(feature_set: FeatureSet) -> int:
    folder = feature_set.store_folder
    return sum(len(chunk["ids"]) for chunk in feature_set.chunks if shard_exists(folder, chunk["key"]))


# --- one chunk ------------------------------------------------------------------------------


def _audio_path(utterance: Utterance) -> Path:
    """The utterance's file, refused if its stored relative path leads out of the corpus folder."""
    root = utterance.corpus.root.resolve()
    path = (root / utterance.audio_path).resolve()
    if not path.is_relative_to(root):
        raise FeatureExtractionError(
            f"utterance {utterance.name} (id {utterance.pk}): "
            f"audio path {utterance.audio_path!r} leaves the corpus folder"
        )
    return path


def _no_frames_reason(n_frames_total: int, duration_s: float, config: FeatureConfig) -> str:
    if n_frames_total == 0:
        return f"shorter than one {config.window_s * 1000:.0f} ms frame ({duration_s:.3f} s)"
    return f"silent: none of its {n_frames_total} frames has energy above {config.min_energy:g}" + (
        " (first and last frame dropped)" if config.drop_edge_frames and n_frames_total > 2 else ""
    )


def utterance_features(utterance: Utterance, config: FeatureConfig) -> UtteranceFeatures:
    """Decode one utterance's audio and extract its features. Raises FeatureExtractionError
    naming the utterance for a missing or undecodable file and for NaN or infinite samples."""
    path = _audio_path(utterance)
    where = f"utterance {utterance.name} (id {utterance.pk}, {path})"
    try:
        samples, sample_rate = read_audio(path)
        if samples.shape[0] == 0:
            no_frames = np.zeros((0, len(feature_names(config.feature_set))), dtype=np.float32)
            return UtteranceFeatures(utterance.pk, no_frames, np.zeros(0, dtype=np.int64), 0, "audio holds no samples")
        features = extract(samples, sample_rate, config)
    except FileNotFoundError:
        raise FeatureExtractionError(f"{where}: audio file not found") from None
    except InvalidAudio as exc:
        raise FeatureExtractionError(f"{where}: {exc}") from None
    reason = (
        "" if features.n_frames else _no_frames_reason(features.n_frames_total, samples.shape[0] / sample_rate, config)
    )
    return UtteranceFeatures(
        utterance.pk,
        features.matrix,
        features.frame_index,
        features.n_frames_total,
        reason,
        utterance_vector=features.utterance_vector,
    )


def feature_chunk_extract(
    *, feature_set_id: int, chunk_index: int, on_utterance: Callable[[int], None] | None = None
) -> bool:
    """Extract chunk ``chunk_index`` of the set into its shard, unless the shard exists already,
    the set is ready, or it failed. Returns True when it extracted something.

    on_utterance(n): called after each utterance with the number done in this chunk.
    """
    feature_set = FeatureSet.objects.select_related("corpus").get(pk=feature_set_id)
    if feature_set.status in (FeatureSet.Status.READY, FeatureSet.Status.FAILED):
        return False
    if not 0 <= chunk_index < len(feature_set.chunks):
        # A message from before the set was re-planned (its corpus changed): nothing to do.
        logger.warning("feature set %s has no chunk %s (re-planned since); skipped", feature_set_id, chunk_index)
        return False
    chunk = feature_set.chunks[chunk_index]
    folder = feature_set.store_folder
    if shard_exists(folder, chunk["key"]):
        return False
    config = FeatureConfig.from_dict(feature_set.config)
    results = []
    # Utterances deleted since planning are simply absent; the next plan will not have them.
    utterances = Utterance.objects.filter(pk__in=chunk["ids"], corpus=feature_set.corpus).select_related("corpus")
    for n, utterance in enumerate(utterances.order_by("pk"), start=1):
        results.append(utterance_features(utterance, config))
        if on_utterance:
            on_utterance(n)
    write_shard(folder, chunk["key"], results, n_features=len(feature_names(config.feature_set)))
    return True


def feature_set_record_progress(*, feature_set_id: int) -> int:
    """Count the utterances whose chunks are on disk and store it (idempotent). Returns the count."""
    feature_set = FeatureSet.objects.get(pk=feature_set_id)
    if feature_set.status == FeatureSet.Status.READY:
        return feature_set.progress_done
    done = _utterances_done(feature_set)
    FeatureSet.objects.filter(pk=feature_set_id).exclude(status=FeatureSet.Status.READY).update(progress_done=done)
    return done


# --- finishing --------------------------------------------------------------------------------


def feature_set_finalise(*, feature_set_id: int) -> FeatureSet | None:
    """Pack the shards and mark the set ready once every chunk is on disk. Returns the ready set,
    or None while chunks are missing or when the set failed. Safe to call any number of times."""
    with transaction.atomic():
        feature_set = FeatureSet.objects.select_for_update().get(pk=feature_set_id)
        if feature_set.status == FeatureSet.Status.READY:
            return feature_set
        if feature_set.status == FeatureSet.Status.FAILED:
            return None
        folder = feature_set.store_folder
        keys = [chunk["key"] for chunk in feature_set.chunks]
        if not all(shard_exists(folder, key) for key in keys):
            return None
        summary = pack_shards(folder, keys, remove_shards=False)
        names = dict(Utterance.objects.filter(pk__in=[pk for pk, _ in summary.empty]).values_list("pk", "name"))
        feature_set.empty_utterances = [
            {"id": pk, "name": names.get(pk, ""), "reason": reason} for pk, reason in summary.empty
        ]
        feature_set.n_utterances = summary.n_utterances
        feature_set.n_frames = summary.n_frames
        feature_set.n_frames_total = summary.n_frames_total
        feature_set.status = FeatureSet.Status.READY
        feature_set.progress_done = feature_set.progress_total
        feature_set.finished_at = timezone.now()
        feature_set.error = ""
        feature_set.save()
        # Shards go only once the ready state is committed; until then they let a retry re-pack.
        transaction.on_commit(lambda: remove_store(folder / "shards"))
    return feature_set


def feature_set_fail(*, feature_set_id: int, error: str) -> None:
    """Record a failure (never over a ready set). Shards already written stay for a resume."""
    FeatureSet.objects.filter(pk=feature_set_id).exclude(status=FeatureSet.Status.READY).update(
        status=FeatureSet.Status.FAILED, error=error[:5000], finished_at=timezone.now()
    )


def _mark_running(feature_set: FeatureSet) -> None:
    now = timezone.now()
    FeatureSet.objects.filter(pk=feature_set.pk).exclude(status=FeatureSet.Status.READY).update(
        status=FeatureSet.Status.RUNNING, started_at=now, error=""
    )
    feature_set.status, feature_set.started_at = FeatureSet.Status.RUNNING, now


# --- the two ways to run it -------------------------------------------------------------------


def feature_set_ensure(
    *,
    corpus: Corpus,
    preset: str = "paper",
    progress: ProgressCallback | None = None,
    features: str = DEFAULT_FEATURE_SET,
) -> FeatureSet:
    """The ready feature set of ``corpus`` under ``preset`` with ``features``' descriptors,
    extracting in this process whatever is missing (nothing at all when the cache is current).

    progress receives ProgressEvent("features", utterances done, utterances total,
    {"cached": bool}). Raises FeatureExtractionError (the set is then marked failed) naming the
    utterance that stopped it.
    """
    feature_set = feature_set_prepare(corpus=corpus, preset=preset, features=features)
    total = feature_set.progress_total
    if feature_set.status == FeatureSet.Status.READY:
        if progress:
            progress(ProgressEvent("features", total, total, {"cached": True}))
        return feature_set
    _mark_running(feature_set)
    folder = feature_set.store_folder
    done = _utterances_done(feature_set)
    if progress:
        progress(ProgressEvent("features", done, total, {"cached": False}))
    try:
        for index, chunk in enumerate(feature_set.chunks):
            if shard_exists(folder, chunk["key"]):
                continue
            before = done

            def on_utterance(n: int, before: int = before) -> None:
                if progress:
                    progress(ProgressEvent("features", before + n, total, {"cached": False}))

            feature_chunk_extract(feature_set_id=feature_set.pk, chunk_index=index, on_utterance=on_utterance)
            done = before + len(chunk["ids"])
            FeatureSet.objects.filter(pk=feature_set.pk).update(progress_done=done)
    except Exception as exc:
        # Bad audio or anything unexpected (disk full, database gone): the set says why.
        # An interruption (KeyboardInterrupt) leaves it running, to be resumed.
        feature_set_fail(feature_set_id=feature_set.pk, error=error_text(exc, own_errors=(FeatureExtractionError,)))
        raise
    ready = feature_set_finalise(feature_set_id=feature_set.pk)
    if ready is None:
        feature_set.refresh_from_db()
        raise FeatureExtractionError(
            f"feature set {feature_set.pk} could not be completed (status {feature_set.status}): "
            + (feature_set.error or "a chunk is missing; another process may have re-planned it")
        )
    if progress:
        progress(ProgressEvent("features", total, total, {"cached": False}))
    return ready


def feature_set_extract_async(
    *, corpus: Corpus, preset: str = "paper", features: str = DEFAULT_FEATURE_SET
) -> FeatureSet:
    """Plan the set and, after the surrounding transaction commits, enqueue one Celery task per
    chunk not yet on disk (or only the finalising step when all are). Returns the set at once;
    a ready, current set enqueues nothing."""
    feature_set = feature_set_prepare(corpus=corpus, preset=preset, features=features)
    if feature_set.status == FeatureSet.Status.READY:
        return feature_set
    folder = feature_set.store_folder
    missing = [i for i, chunk in enumerate(feature_set.chunks) if not shard_exists(folder, chunk["key"])]
    with transaction.atomic():
        _mark_running(feature_set)
        for index in missing:
            enqueue_after_commit(EXTRACT_CHUNK_TASK, feature_set.pk, index)
        if not missing:
            enqueue_after_commit(FINALISE_TASK, feature_set.pk)
    return feature_set


def feature_set_run_chunk(*, feature_set_id: int, chunk_index: int) -> None:
    """What one chunk task does: extract the chunk (unless done), record progress, and pack the
    set if this was the last chunk. A bad utterance marks the whole set failed."""
    try:
        feature_chunk_extract(feature_set_id=feature_set_id, chunk_index=chunk_index)
    except FeatureExtractionError as exc:
        feature_set_fail(feature_set_id=feature_set_id, error=str(exc))
        logger.warning("feature set %s failed: %s", feature_set_id, exc)
        return
    except Exception as exc:
        feature_set_fail(
            feature_set_id=feature_set_id,
            error=f"chunk {chunk_index}: {error_text(exc, own_errors=(FeatureExtractionError,))}",
        )
        raise
    feature_set_record_progress(feature_set_id=feature_set_id)
    feature_set_finalise(feature_set_id=feature_set_id)


def feature_set_delete(*, feature_set: FeatureSet) -> None:
    """Remove a set and its files."""
    folder = feature_set.store_folder
    with transaction.atomic():
        feature_set.delete()
        transaction.on_commit(lambda: remove_store(folder))
