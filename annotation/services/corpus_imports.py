"""Corpus imports from the browser and the API: an uploaded archive or a folder on the server,
imported by a Celery task through the one corpus importer (``corpus_import_from_source``).

- ``corpus_import_request`` checks the request (role, name, format, folder inside
  EMOLAB_IMPORT_ROOTS, the archive's members and sizes), stores the upload and queues the task.
  A bad request raises ImportRequestError (400) and leaves nothing behind.
- ``corpus_import_run`` (the task) unpacks an upload into a staging folder, moves it to
  MEDIA_ROOT/corpora/<name>/ and runs the importer, reporting progress and honouring
  cancellation. The importer writes the corpus in one transaction at its very end, so a failed
  or cancelled import leaves no corpus; the files it unpacked for a new corpus are removed.
- Re-importing the same archive under the same name changes nothing (the importer is idempotent;
  the files are unpacked over the same folder with the same content).
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.importers.archives import UnsafeArchive, extract_archive, inspect_archive, release_root
from annotation.importers.formats import FORMATS
from annotation.models import Corpus, CorpusImport, corpus_name_validator
from annotation.services.corpora import CorpusImportError, corpus_import_from_source
from emolab.celery import enqueue_after_commit

logger = logging.getLogger(__name__)

RUN_TASK = "annotation.corpus_imports.run"
CORPORA_FOLDER = "corpora"  # under MEDIA_ROOT: one folder per uploaded corpus
UPLOADS_FOLDER = "imports"  # under MEDIA_ROOT: uploads waiting for their task (never served)
PROGRESS_WRITE_INTERVAL_S = 1.0  # progress rows written at most this often


class ImportRequestError(Exception):
    """The import cannot be started; the message says why (400). ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class ImportConflict(Exception):
    """The import's state does not allow the request (cancel a finished import)."""


class ImportCancelled(Exception):
    """Raised inside a running import when it was cancelled."""


def _check_name_and_format(name: str, format: str) -> None:
    try:
        corpus_name_validator(name)
    except ValidationError as exc:
        raise ImportRequestError(f"corpus name {name!r}: {' '.join(exc.messages)}", field="name") from None
    if format not in FORMATS:
        raise ImportRequestError(f"unknown format {format!r}; choose one of {', '.join(sorted(FORMATS))}", "format")
    existing = Corpus.objects.filter(name=name).values_list("format", flat=True).first()
    if existing is not None and existing != format:
        raise ImportRequestError(
            f"corpus {name!r} exists with format {existing!r}; import it with that format or choose another name",
            field="name",
        )


def import_folder_allowed(folder: str) -> Path:
    """The folder, resolved, when it lies inside one of EMOLAB_IMPORT_ROOTS (resolved too, so a
    symlink pointing out of a root is refused like the path it points to)."""
    roots = [Path(root).resolve() for root in settings.EMOLAB_IMPORT_ROOTS]
    if not roots:
        raise ImportRequestError("importing server folders is switched off (EMOLAB_IMPORT_ROOTS is empty)", "folder")
    given = Path(folder)
    if not given.is_absolute():
        raise ImportRequestError(f"{folder}: give an absolute path", field="folder")
    resolved = given.resolve()
    if not any(resolved == root or resolved.is_relative_to(root) for root in roots):
        raise ImportRequestError(
            f"{folder} is not inside an allowed import root ({', '.join(str(root) for root in roots)})", "folder"
        )
    if not resolved.is_dir():
        raise ImportRequestError(f"{folder}: no such folder", field="folder")
    return resolved


def corpus_import_request(
    *, user, name: str, format: str, upload=None, folder: str = "", manifest: str = ""
) -> CorpusImport:
    """Check the request and queue the import. ``upload``: a Django UploadedFile."""
    if (upload is None) == (not folder):
        raise ImportRequestError("give either an archive to upload or a server folder, not both")
    _check_name_and_format(name, format)
    if manifest and (Path(manifest).is_absolute() or ".." in Path(manifest).parts):
        raise ImportRequestError("the manifest is a path relative to the corpus's folder", field="manifest")
    if format == "manifest" and manifest and not manifest.lower().endswith(".csv"):
        raise ImportRequestError("the manifest must be a .csv file", field="manifest")
    running = CorpusImport.objects.filter(
        name=name, status__in=[CorpusImport.Status.QUEUED, CorpusImport.Status.RUNNING]
    )
    if running.exists():
        raise ImportRequestError(f"corpus {name!r} is being imported already; wait for it or cancel it", "name")
    if folder:
        resolved = import_folder_allowed(folder)
        with transaction.atomic():
            job = CorpusImport.objects.create(
                name=name, format=format, source=CorpusImport.Source.FOLDER, folder=str(resolved),
                manifest=manifest, created_by=user,
            )  # fmt: skip
            enqueue_after_commit(RUN_TASK, job.pk)
        return job
    if upload.size is not None and upload.size > settings.EMOLAB_IMPORT_MAX_UPLOAD_BYTES:
        raise ImportRequestError(
            f"the archive is {upload.size / 1e9:.2f} GB; the limit is "
            f"{settings.EMOLAB_IMPORT_MAX_UPLOAD_BYTES / 1e9:.1f} GB (EMOLAB_IMPORT_MAX_UPLOAD_BYTES)",
            field="archive",
        )
    job = CorpusImport.objects.create(
        name=name, format=format, source=CorpusImport.Source.UPLOAD, upload_name=(upload.name or "")[:255],
        manifest=manifest, created_by=user,
    )  # fmt: skip
    stored = Path(settings.MEDIA_ROOT) / UPLOADS_FOLDER / str(job.pk) / "archive"
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        with stored.open("wb") as sink:
            for chunk in upload.chunks():
                sink.write(chunk)
        inspect_archive(stored, max_bytes=settings.EMOLAB_IMPORT_MAX_BYTES, max_files=settings.EMOLAB_IMPORT_MAX_FILES)
    except UnsafeArchive as exc:
        shutil.rmtree(stored.parent, ignore_errors=True)
        job.delete()
        raise ImportRequestError(f"{upload.name}: {exc}", field="archive") from None
    except BaseException:
        shutil.rmtree(stored.parent, ignore_errors=True)
        job.delete()
        raise
    job.upload_path = str(stored.relative_to(settings.MEDIA_ROOT))
    job.save(update_fields=["upload_path"])
    enqueue_after_commit(RUN_TASK, job.pk)
    return job


def corpus_import_cancel(*, corpus_import: CorpusImport) -> CorpusImport:
    """A queued import is cancelled at once; a running one stops at its next progress report."""
    with transaction.atomic():
        job = CorpusImport.objects.select_for_update().get(pk=corpus_import.pk)
        if job.is_finished:
            raise ImportConflict(f"import {job.pk} has {job.status} already")
        if job.status == CorpusImport.Status.QUEUED:
            job.status = CorpusImport.Status.CANCELLED
            job.finished_at = timezone.now()
            job.error = "cancelled before it started"
            job.save(update_fields=["status", "finished_at", "error"])
            _remove_upload(job)
        else:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
    return job


def _remove_upload(job: CorpusImport) -> None:
    if job.upload_path:
        shutil.rmtree((Path(settings.MEDIA_ROOT) / job.upload_path).parent, ignore_errors=True)


class _Progress:
    """Writes the stage and counts at most once a second, and stops the work when cancelled."""

    def __init__(self, job: CorpusImport, stage: str):
        self.job, self.stage, self.last = job, stage, 0.0
        CorpusImport.objects.filter(pk=job.pk).update(stage=stage, progress_done=0, progress_total=0)

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_WRITE_INTERVAL_S and done < total:
            return
        self.last = now
        CorpusImport.objects.filter(pk=self.job.pk).update(progress_done=done, progress_total=total)
        if CorpusImport.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise ImportCancelled()


def corpus_import_run(*, import_id: int) -> None:
    """The task's work. Safe to deliver twice: only a queued import is started."""
    claimed = CorpusImport.objects.filter(pk=import_id, status=CorpusImport.Status.QUEUED).update(
        status=CorpusImport.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return
    job = CorpusImport.objects.get(pk=import_id)
    corpus_existed = Corpus.objects.filter(name=job.name).exists()
    final = Path(settings.MEDIA_ROOT) / CORPORA_FOLDER / job.name
    staging = Path(settings.MEDIA_ROOT) / CORPORA_FOLDER / f".staging-{job.pk}"
    created_folder = False
    try:
        if job.source == CorpusImport.Source.UPLOAD:
            shutil.rmtree(staging, ignore_errors=True)
            extract_archive(
                Path(settings.MEDIA_ROOT) / job.upload_path,
                staging,
                max_bytes=settings.EMOLAB_IMPORT_MAX_BYTES,
                max_files=settings.EMOLAB_IMPORT_MAX_FILES,
                progress=_Progress(job, "unpacking"),
            )
            created_folder = not final.exists()
            _move_into(release_root(staging), final)
            root = final
        else:
            root = import_folder_allowed(job.folder)  # checked again: the folder may have changed since
        source = _manifest_path(root, job.manifest) if job.format == "manifest" else root
        report = corpus_import_from_source(
            format=job.format, path=source, name=job.name, progress=_Progress(job, "reading audio")
        )
    except ImportCancelled:
        _finish(job, CorpusImport.Status.CANCELLED, error="cancelled")
        _discard(final if created_folder and not corpus_existed else None)
    except (CorpusImportError, UnsafeArchive, ImportRequestError) as exc:
        _finish(job, CorpusImport.Status.FAILED, error=str(exc))
        _discard(final if created_folder and not corpus_existed else None)
    except Exception as exc:
        logger.exception("corpus import %s failed", import_id)
        _finish(job, CorpusImport.Status.FAILED, error=f"unexpected error: {exc}")
        _discard(final if created_folder and not corpus_existed else None)
    else:
        corpus = Corpus.objects.get(name=job.name)
        _finish(job, CorpusImport.Status.SUCCEEDED, report=report.as_json(), corpus=corpus)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_upload(job)


def _finish(job: CorpusImport, status: str, *, error: str = "", report: dict | None = None, corpus=None) -> None:
    CorpusImport.objects.filter(pk=job.pk).update(
        status=status,
        error=error,
        report=report or {},
        corpus=corpus,
        finished_at=timezone.now(),
        stage="done" if status == CorpusImport.Status.SUCCEEDED else "",
    )


def _discard(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def _move_into(source: Path, final: Path) -> None:
    """A new corpus's folder is the unpacked release, moved; a re-import's files are written over
    the existing folder (files only the old folder has are kept: utterances are never dropped)."""
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        source.rename(final)
        return
    for path in sorted(source.rglob("*")):
        target = final / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)


def _manifest_path(root: Path, manifest: str) -> Path:
    if manifest:
        path = (root / manifest).resolve()
        if not path.is_relative_to(root.resolve()) or not path.is_file():
            raise ImportRequestError(f"manifest {manifest} not found in the corpus's folder")
        return path
    found = sorted(root.glob("*.csv"))
    if len(found) != 1:
        names = ", ".join(path.name for path in found) or "none"
        raise ImportRequestError(f"name the manifest: the corpus's folder holds {len(found)} .csv files ({names})")
    return found[0]
