"""The comparison report in a real browser: a researcher signs in, opens Reports from the
navigation, chooses a job and a campaign, reads Table 1 and the figures, and opens an utterance in
the explorer whose audio plays from the server. Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest
from django.conf import settings

from models_app.ser.analysis import explorer
from models_app.services.reports import stored_report_compute_now
from tests.factories import TEST_PASSWORD, build_report_data, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_researcher_reads_the_report_and_explores_an_utterance(
    chromium,
    monkeypatch,
    live_server,
    live_server_closes_db_connections,
    allow_db_beside_playwright,
    tmp_path,
):
    monkeypatch.setattr(explorer, "PER_PAGE", 2)  # four utterances make two pages
    data = build_report_data(tmp_path / "tiny")
    # The report as a worker stores it (tests/models_app/test_reports_stored.py runs a real one).
    stored_report_compute_now(job=data["job"], campaign=data["campaign"])
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
    assert page.is_visible("#table1 figure svg")
    _check_table_of_contents(page)
    _check_confusion_grid(page)
    _check_no_legend_covers_data(page)
    # Table previews are closed behind "show table" and open without a script.
    preview = page.locator("#table1 details.report-table").first
    assert not preview.locator("table").is_visible()
    preview.locator("summary").click()
    assert preview.locator("table").is_visible()
    assert "Overall accuracy 95% CI low" in preview.inner_text()
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / "report.png"), full_page=True)

    # The explorer: pages (two rows a page here, 50 in use), search and filters, then one utterance.
    page.click("#explorer button[type=submit]")
    page.wait_for_selector("#explorer-table")
    assert page.inner_text("#explorer-count").startswith("Showing 1–2 of 4 utterances")
    page.screenshot(path=str(folder / "report_explorer.png"), full_page=True)
    page.click("#explorer-next")
    page.wait_for_url("**page=2**")
    assert page.inner_text("#explorer-count").startswith("Showing 3–4 of 4")
    page.fill("input[name=q]", "anger_1")
    page.click("#explorer-filters button[type=submit]")
    page.wait_for_url("**q=anger_1**")
    assert page.inner_text("#explorer-count").startswith("Showing 1–1 of 1 utterance")
    page.fill("input[name=q]", "")
    page.select_option("select[name=method]", "framewise")
    page.select_option("select[name=method_correct]", "correct")
    page.click("#explorer-filters button[type=submit]")
    page.wait_for_url("**method_correct=correct**")
    assert page.inner_text("#explorer-count").startswith("Showing 1–2 of 2")
    assert "s1_anger_0" not in page.inner_text("#explorer-table")
    page.screenshot(path=str(folder / "report_explorer_filtered.png"), full_page=True)
    page.goto(page.url.replace("method_correct=correct", "method_correct=incorrect"))
    page.click("#explorer-table >> text=s1_anger_0")
    page.wait_for_selector("#frames figure svg")
    assert "anger" in page.inner_text("#frames")
    page.wait_for_function("document.querySelector('audio').readyState >= 1")  # the server's audio loaded
    assert page.evaluate("document.querySelector('audio').duration") == pytest.approx(1.0, abs=0.05)
    assert "alice" in page.inner_text("#answers") and "bob" in page.inner_text("#answers")
    page.screenshot(path=str(folder / "report_utterance.png"), full_page=True)
    assert not script_errors and not failed


def _check_table_of_contents(page):
    links = page.locator("#toc a")
    assert links.count() >= 8
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert page.locator(target).count() == 1, target


def _check_confusion_grid(page):
    """Every matrix at least 320 px square, at most two per row, the human one beside the best method's."""
    boxes = page.eval_on_selector_all(
        "#confusion .figure-grid figure svg",
        "svgs => svgs.map(s => { const r = s.getBoundingClientRect();"
        " return {x: r.x, y: r.y, w: r.width, h: r.height, name: s.closest('figure').innerText}; })",
    )
    assert len(boxes) == 4  # human, CTC, framewise, dummy
    assert all(b["w"] >= 320 and b["h"] >= 320 for b in boxes), boxes
    rows = {}
    for box in boxes:
        rows.setdefault(round(box["y"]), []).append(box)
    assert [len(r) for r in rows.values()] == [2, 2], boxes
    first = sorted(rows[min(rows)], key=lambda b: b["x"])
    assert "confusion_human" in first[0]["name"] and "confusion_ctc" in first[1]["name"]


def _check_no_legend_covers_data(page):
    """In every figure of the page, the legend's box against every bar's box (issue 16)."""
    overlaps = page.evaluate(
        """() => {
        const found = []; let legends = 0;
        for (const svg of document.querySelectorAll('figure svg')) {
          for (const legend of svg.querySelectorAll('[id="legend"]')) {
            legends += 1;
            const l = legend.getBoundingClientRect();
            for (const bar of svg.querySelectorAll('[id="data"]')) {
              const b = bar.getBoundingClientRect();
              if (b.width && b.height && l.x < b.right && b.x < l.right && l.y < b.bottom && b.y < l.bottom)
                found.push(svg.closest('figure').innerText);
            }
          }
        }
        return {legends, found};
      }"""
    )
    assert overlaps["legends"] >= 4 and overlaps["found"] == [], overlaps
