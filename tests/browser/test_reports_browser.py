"""The comparison report in a real browser: a researcher signs in, opens Reports from the
navigation, chooses a job and a campaign, reads Table 1 and the figures, and opens an utterance in
the explorer whose audio plays from the server. Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import TEST_PASSWORD, build_report_data, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_reads_the_report_and_explores_an_utterance(
    chromium,
    live_server,
    live_server_closes_db_connections,
    allow_db_beside_playwright,
    tmp_path,
):
    data = build_report_data(tmp_path / "tiny")
    researcher = make_user("researcher", username="report-researcher")
    page = chromium.new_context(viewport={"width": 1280, "height": 900}).new_page()
    script_errors, failed = [], []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("response", lambda r: r.status >= 400 and "favicon" not in r.url and failed.append(f"{r.status} {r.url}"))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", researcher.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.click("nav >> text=Reports")
    page.wait_for_url(f"{live_server.url}/reports/")
    page.select_option("select[name=job]", str(data["job"].pk))
    page.select_option("select[name=campaign]", str(data["campaign"].pk))
    page.click("text=Show report")
    page.wait_for_selector("#summary")

    summary = page.inner_text("#summary tbody")
    assert "Framewise" in summary and "62.5%" in summary and "87.5%" in summary and "Human" in summary
    assert page.locator("#confusion figure svg").count() == 1
    assert page.is_visible("#table1 figure svg")
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "report.png"), full_page=True)

    page.click("#explorer >> text=s1_anger_0")
    page.wait_for_selector("#frames figure svg")
    assert "anger" in page.inner_text("#frames")
    page.wait_for_function("document.querySelector('audio').readyState >= 1")  # the server's audio loaded
    assert page.evaluate("document.querySelector('audio').duration") == pytest.approx(1.0, abs=0.05)
    assert "alice" in page.inner_text("#answers") and "bob" in page.inner_text("#answers")
    page.screenshot(path=str(folder / "report_utterance.png"), full_page=True)
    assert not script_errors and not failed
