"""A corpus import through the real queue: the upload's task runs in a Celery worker subprocess on
the configured broker (filesystem by default, Redis in CI's second run)."""

import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Corpus, CorpusImport
from tests.annotation.test_corpus_import_web import EMODB_NAMES, zip_of
from tests.factories import make_user, tone, write_wav
from tests.worker import wait_until


@pytest.mark.worker
def test_a_real_worker_imports_an_uploaded_archive(api_client, tmp_path, celery_worker):
    # The worker reads the test settings' MEDIA_ROOT: a unique corpus name keeps runs apart, and
    # the test removes its corpus folder afterwards.
    name = f"upload-{uuid.uuid4().hex[:8]}"
    tree = tmp_path / "emodb"
    for index, file_name in enumerate(EMODB_NAMES):
        write_wav(tree / "wav" / file_name, tone(0.3, frequency=150 + 25 * index, seed=index))
    api_client.force_authenticate(make_user("researcher"))
    upload = SimpleUploadedFile("emodb.zip", zip_of(tree))
    response = api_client.post("/api/corpora/imports/", {"name": name, "format": "emodb", "archive": upload})
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    try:
        wait_until(
            lambda: CorpusImport.objects.get(pk=job_id).is_finished,
            timeout=120,
            message="the worker to finish the import:\n" + celery_worker.log(),
        )
        job = CorpusImport.objects.get(pk=job_id)
        assert job.status == "succeeded", job.error + celery_worker.log()
        assert Corpus.objects.get(name=name).utterances.count() == len(EMODB_NAMES)
        assert "annotation.corpus_imports.run" in celery_worker.log()
    finally:
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "corpora" / name, ignore_errors=True)
