"""A researcher uploads a corpus zip on the New corpus page and watches it import, with a real
Celery worker doing the work; the page's bar follows the import and the report appears."""

import shutil
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from annotation.models import Corpus, CorpusImport
from tests.annotation.test_corpus_import_web import EMODB_NAMES, zip_of
from tests.factories import TEST_PASSWORD, make_user, tone, write_wav
from tests.worker import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_researcher_uploads_a_zip_and_watches_it_import(
    chromium, live_server, live_server_closes_db_connections, allow_db_beside_playwright, tmp_path
):
    # The worker reads the test settings' MEDIA_ROOT; a unique corpus name keeps runs apart.
    name = f"page-{uuid.uuid4().hex[:8]}"
    tree = tmp_path / "emodb"
    for index, file_name in enumerate(EMODB_NAMES):
        write_wav(tree / "wav" / file_name, tone(0.3, frequency=150 + 25 * index, seed=index))
    archive = tmp_path / "emodb.zip"
    archive.write_bytes(zip_of(tree))
    researcher = make_user("researcher")
    worker = WorkerProcess().start()
    try:
        page = chromium.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", researcher.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("main button.primary")
        page.click("#new-corpus")
        page.fill("#id_name", name)
        page.select_option("#id_format", "emodb")
        page.set_input_files("#id_archive", str(archive))
        page.click("main button.primary")
        page.wait_for_url("**/corpora/imports/*/")
        page.wait_for_selector("#import-report", timeout=120_000)  # the page reloads when the import is done
        assert page.inner_text("#import-status") == "succeeded"
        assert f"{len(EMODB_NAMES)} utterances from 5 speakers" in page.inner_text("#import-report")
        assert page.evaluate("document.getElementById('import-progress-bar').style.width") == "100%"
        screenshot_dir = settings.VAR_DIR / "screenshots"
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "corpus_import.png"), full_page=True)
        page.click("text=Start a campaign")
        page.wait_for_url("**/campaigns/new/")
        assert name in page.inner_text("#id_corpus")
    finally:
        worker.stop()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / "corpora" / name, ignore_errors=True)
    assert CorpusImport.objects.get().status == "succeeded"
    assert Corpus.objects.get(name=name).utterances.count() == len(EMODB_NAMES)
