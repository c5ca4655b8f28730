"""Issue 12, items 3 and 4 in a real browser: every page works under the site's
Content-Security-Policy (no 'unsafe-inline' for scripts or styles), figures keep their colours,
the Django admin and Swagger UI at /api/docs/ work (Swagger's "Try it out" included), and a
locked-out user sees the wait on the sign-in page with the username kept.

Chromium reports every refused inline script, style or handler on the console; the test fails
on any such message, on any script error and on any failed request.
"""

import pytest

from annotation.services.campaigns import campaign_create
from models_app.services.reports import stored_report_compute_now
from tests.factories import TEST_PASSWORD, build_report_data, confirm_instructions, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Watcher:
    """Collects what a page complains about."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and "favicon" not in r.url and self.problems.append(f"{r.status} {r.url}"),
        )

    def _console(self, message):
        text = message.text
        if text.startswith("Failed to load resource"):
            return  # the response hook has the URL (and leaves the browser's own favicon request out)
        if "Content Security Policy" in text or "Refused to" in text or message.type == "error":
            self.problems.append(f"console {message.type}: {text}")

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


def _sign_in(page, base_url, username, password=TEST_PASSWORD, expect_url=None):
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    if expect_url:
        page.wait_for_url(expect_url)


def _visit(page, watcher, url, ready="main"):
    response = page.goto(url)
    assert response.status == 200, (url, response.status)
    assert "default-src 'self'" in response.headers.get("content-security-policy", ""), url
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    assert not watcher.take(), url


def _computed(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).getPropertyValue('{prop}')")


def test_every_page_works_under_the_content_security_policy(
    chromium,
    live_server,
    live_server_closes_db_connections,
    allow_db_beside_playwright,
    tmp_path,
):
    data = build_report_data(tmp_path / "tiny")
    stored_report_compute_now(job=data["job"], campaign=data["campaign"])  # as a worker stores it
    base = live_server.url
    admin = make_user("admin", username="csp-admin")
    admin.is_superuser = True  # the admin's user and group pages need the permissions
    admin.save()
    make_user("researcher", username="csp-researcher")
    assessor = make_user("assessor", username="csp-assessor")
    campaign = campaign_create(corpus=data["corpus"], name="csp round", created_by=admin, assessors=[assessor.username])
    confirm_instructions(campaign, assessor)
    utterance = data["utterances"]["s1_anger_0"]
    query = f"job={data['job'].pk}&campaign={data['campaign'].pk}"

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watcher = Watcher(page)

    _visit(page, watcher, f"{base}/accounts/login/", "input[name=username]")
    _sign_in(page, base, admin.username, expect_url=f"{base}/")
    assert not watcher.take()
    for url, ready in [
        ("/", "main"),
        ("/campaigns/", "main"),
        (f"/campaigns/{campaign.pk}/", ".progress"),
        ("/campaigns/new/", "form"),
        ("/jobs/", "table"),
        ("/jobs/new/", "form"),
        (f"/jobs/{data['job'].pk}/", "#job-progress-bar"),
        ("/timeline/", "main"),
        ("/reports/", "select[name=job]"),
        (f"/reports/comparison/?{query}", "#table1 figure svg"),
        # Never computed (no worker here): the progress message and its polling script.
        (f"/reports/comparison/?job={data['job'].pk}", "#report-status-pending"),
        (f"/reports/utterance/{utterance.public_id}/?{query}", "#frames figure svg"),
        ("/admin/", "#content"),
        ("/admin/auth/user/", "#result_list"),
        (f"/admin/auth/user/{assessor.pk}/change/", "#user_form"),
        ("/admin/auth/user/add/", "#user_form"),
        ("/admin/auth/group/add/", "#group_form"),
    ]:
        _visit(page, watcher, base + url, ready)
        if url.startswith("/jobs/") and url.count("/") == 3 and url != "/jobs/new/":
            # The progress bar's width comes from data-width through a script file, not style="".
            assert page.evaluate("document.getElementById('job-progress-bar').style.width") == "100%"
        if url == f"/reports/comparison/?{query}":
            # Figure colours are presentation attributes: a strict policy keeps them.
            bar = "#table1 figure svg [fill='#4c72b0']"
            assert page.locator(bar).count() > 0
            assert _computed(page, bar, "fill") == "rgb(76, 114, 176)"
        if url.startswith("/admin/auth/user/add"):
            # The admin's own scripts run (the password fields' toggles, the collapsible sections).
            assert page.evaluate("typeof django !== 'undefined' && typeof django.jQuery === 'function'")

    # Swagger UI: the operations render and "Try it out" calls the API with the session.
    _visit(page, watcher, f"{base}/api/docs/", ".swagger-ui .opblock")
    operation = page.locator("#operations-campaigns-campaigns_list")
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    with page.expect_response(lambda r: r.url.endswith("/api/campaigns/")) as called:
        operation.locator(".execute").click()
    assert called.value.status == 200
    page.wait_for_selector("#operations-campaigns-campaigns_list .live-responses-table")
    assert not watcher.take()

    # The assessor's pages: the campaign list and the trial page, whose audio plays.
    page.click("text=Sign out") if page.locator("text=Sign out").count() else None
    context.clear_cookies()
    _sign_in(page, base, assessor.username, expect_url=f"{base}/")
    assert not watcher.take()
    _visit(page, watcher, f"{base}/campaigns/{campaign.pk}/label/", "#play:not([disabled])")
    assert page.evaluate("document.getElementById('progress-bar').style.width") == "0%"
    page.click("#play")
    page.wait_for_function("document.querySelector('audio') && document.querySelector('audio').readyState >= 1")
    assert not watcher.take()
    context.close()


def test_a_locked_out_user_sees_the_wait_with_the_username_kept(
    chromium,
    live_server,
    live_server_closes_db_connections,
    allow_db_beside_playwright,
):
    make_user("assessor", username="locked-assessor")
    page = chromium.new_page()
    watcher = Watcher(page)
    for attempt in range(5):
        _sign_in(page, live_server.url, "locked-assessor", password=f"wrong-{attempt}")
        page.wait_for_selector("p.error")
    message = page.inner_text("p.error")
    assert "Too many failed sign-ins" in message and "Try again in 15 minutes" in message
    assert page.input_value("input[name=username]") == "locked-assessor"
    # The right password changes nothing until the wait is over.
    page.fill("input[name=password]", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("p.error")
    assert "Try again in" in page.inner_text("p.error") and page.url.endswith("/accounts/login/")
    problems = [p for p in watcher.take() if not p.startswith("429 ") and "429" not in p]
    assert not problems
    page.close()
