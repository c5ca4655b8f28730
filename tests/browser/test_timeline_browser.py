"""The timeline page in a real browser with a real Celery worker: a researcher signs in, uploads a
stereo recording, is taken to its page, which follows the worker's progress and then shows the
figure and the segment table; the screenshot goes to var/screenshots/timeline.png."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from models_app.services.timeline import ctc_model_cache_clear
from tests.factories import TEST_PASSWORD, audio_bytes, job_with_ctc_model, make_user, small_corpus, tiny_ctc_model
from tests.worker import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_on_media_root(media_root):
    worker = WorkerProcess(extra_env={"EMOLAB_TEST_MEDIA_ROOT": str(media_root)}).start()
    yield worker
    worker.stop()


def test_researcher_uploads_a_recording_and_sees_its_timeline(
    chromium,
    live_server,
    live_server_closes_db_connections,
    allow_db_beside_playwright,
    media_root,
    worker_on_media_root,
    tmp_path,
):
    ctc_model_cache_clear()
    job = job_with_ctc_model(small_corpus(tmp_path), tiny_ctc_model())
    researcher = make_user("researcher", username="browser-researcher")
    recording = tmp_path / "meeting.flac"
    recording.write_bytes(audio_bytes(4.0, rate=44100, channels=2, file_format="FLAC"))

    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    script_errors, failed = [], []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    # The figure and the legend must not need inline styles (the site's Content-Security-Policy).
    page.on("console", lambda m: "Content Security Policy" in m.text and script_errors.append(m.text))
    page.on("response", lambda r: r.status >= 400 and "favicon" not in r.url and failed.append(f"{r.status} {r.url}"))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", researcher.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav >> text=Timeline")  # the navigation link researchers see
    page.wait_for_url(f"{live_server.url}/timeline/")

    page.set_input_files("input[name=audio]", str(recording))
    page.select_option("select[name=job]", str(job.pk))
    page.click("#timeline-submit")
    page.wait_for_url(re.compile(rf"{re.escape(live_server.url)}/timeline/[0-9]+/$"))
    # The page polls the prediction and shows the timeline once the worker has drawn it.
    page.wait_for_selector("#timeline-result", timeout=120_000)

    assert page.is_visible(".timeline-figure svg")
    assert page.inner_text("#timeline-result h2") == "meeting.flac"
    assert f"model of job {job.pk}" in page.inner_text("#timeline-result")
    rows = page.query_selector_all("#segments tbody tr")
    assert rows and all(len(row.query_selector_all("td")) == 5 for row in rows)
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "timeline.png"), full_page=True)
    assert not script_errors and not failed
    ctc_model_cache_clear()
