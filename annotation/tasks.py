"""Celery tasks of the annotation app. Thin: an id in, one service call."""

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from annotation.models import CorpusImport
from annotation.services import corpus_imports

# Unpacking and reading IEMOCAP (12 GB, 10,000 utterances) takes some minutes; the limits only
# stop a stuck import, and the soft one lets the failure be recorded.
IMPORT_LIMITS = {"soft_time_limit": 3 * 3600, "time_limit": 3 * 3600 + 120}


@shared_task(name=corpus_imports.RUN_TASK, acks_late=True, reject_on_worker_lost=True, **IMPORT_LIMITS)
def run_corpus_import(import_id: int) -> None:
    try:
        corpus_imports.corpus_import_run(import_id=import_id)
    except SoftTimeLimitExceeded:
        CorpusImport.objects.filter(pk=import_id).update(
            status=CorpusImport.Status.FAILED, error="the import exceeded its time limit"
        )
