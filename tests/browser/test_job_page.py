"""An admin starts a training job in the browser and watches it progress to Table 1, with a real
Celery worker doing the work."""

import pytest

from models_app.models import TrainingJob
from tests.factories import TEST_PASSWORD, make_corpus, make_user
from tests.worker import WorkerProcess

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_admin_starts_a_job_and_watches_it_reach_table_1(
    chromium, live_server, live_server_closes_db_connections, allow_db_beside_playwright, media_root, tmp_path, settings
):
    make_corpus(tmp_path / "corpus", name="tiny", speakers=("s1", "s2", "s3"), per_speaker_class=2, seconds=1.5)
    admin = make_user("admin")
    worker = WorkerProcess().start()
    try:
        page = chromium.new_page()
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", admin.username)
        page.fill("#id_password", TEST_PASSWORD)
        page.click("main button.primary")
        page.goto(f"{live_server.url}/jobs/new/")
        page.select_option("#id_corpus", "tiny")
        for method in ("onelabel", "ctc"):  # dummy and framewise are checked by default
            page.check(f"input[name=methods][value={method}]")
        page.select_option("#id_preset", "fast")
        page.fill("#id_folds", "3")
        page.click("main button.primary")
        page.wait_for_url("**/jobs/*/")
        # The bar is driven by the page's polling; a reload shows Table 1 once the job is done.
        page.wait_for_selector("table.table1", timeout=240_000)
        text = page.inner_text("table.table1")
        for label in ("Dummy", "Framewise", "One-label BLSTM", "CTC BLSTM (beam search)"):
            assert label in text
        assert page.inner_text("#job-status") == "succeeded"
        assert page.evaluate("document.getElementById('job-progress-bar').style.width") == "100%"
        screenshot_dir = settings.VAR_DIR / "screenshots"
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / "job.png"), full_page=True)
    finally:
        worker.stop()
    job = TrainingJob.objects.get()
    assert job.status == "succeeded" and job.created_by == admin
    assert set(job.results) >= {"dummy", "framewise", "onelabel", "ctc"}
