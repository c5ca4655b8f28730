"""The trial page in a real browser: an assessor signs in and labels with the keyboard only
(Space to play, 1..K to answer, Enter for the next item) through the warm-up and three scored items;
then the stored judgments are checked. Screenshots go to var/screenshots/."""

from pathlib import Path

import pytest
from django.conf import settings

from annotation.models import CampaignItem, Judgment
from annotation.services.campaigns import campaign_create
from tests.factories import TEST_PASSWORD, confirm_instructions, make_corpus, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES = ("anger", "neutral")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _screenshot_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in_with_the_keyboard(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    # The username field has autofocus, which the browser applies in a rendering step that may come
    # after the load event: type only once it has the focus.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'id_username'")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(TEST_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base_url}/")


def _label_current_item(page, next_payload: dict, answer_correctly: bool, plays: int = 1) -> str:
    """Listen (Space, ``plays`` times), answer with a digit key; returns the label chosen."""
    item = next_payload["item"]
    expert = CampaignItem.objects.select_related("utterance").get(public_id=item["id"]).utterance.label
    label = expert if answer_correctly else next(c for c in CLASSES if c != expert)
    page.wait_for_selector("#play:not([disabled])")
    for _ in range(plays):
        page.keyboard.press("Space")
    page.wait_for_selector(".choice:not([disabled])")
    with page.expect_response(lambda r: "/answers/" in r.url) as answered:
        page.keyboard.press(str(CLASSES.index(label) + 1))
    assert answered.value.status == 201, answered.value.text()
    page.wait_for_selector("#feedback:not([hidden])")
    return label


def test_assessor_labels_warmup_and_scored_items_with_the_keyboard(
    chromium, live_server, live_server_closes_db_connections, allow_db_beside_playwright, tmp_path
):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", classes=CLASSES, seconds=0.6)
    campaign = campaign_create(corpus=corpus, name="Browser round", created_by=None, feedback=True, replay_limit=1)
    assessor = make_user("assessor", username="browser-assessor")
    confirm_instructions(campaign, assessor)
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    script_errors, failed_requests = [], []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    # The browser asks for /favicon.ico on its own; the site has none, which is harmless.
    page.on(
        "response",
        lambda r: r.status >= 400 and "favicon" not in r.url and failed_requests.append(f"{r.status} {r.url}"),
    )

    _sign_in_with_the_keyboard(page, live_server.url, assessor.username)
    assert "Browser round" in page.content()
    with page.expect_response(lambda r: "/next/" in r.url) as first:
        page.goto(f"{live_server.url}/campaigns/{campaign.pk}/label/")
    payload = first.value.json()

    answers = []  # (phase shown, label chosen, expected feedback)
    for index in range(4 + 3):
        assert payload["item"]["phase"] == ("warmup" if index < 4 else "main")
        if index == 4:  # between warm-up and scored items: the break screen, Enter goes on
            page.wait_for_selector("#pause:not([hidden])")
            assert page.inner_text("#pause-title") == "Warm-up done"
            page.keyboard.press("Enter")
        page.wait_for_selector("#play:not([disabled])")  # the page has taken the new item in
        banner_visible = page.is_visible("#warmup-banner")
        assert banner_visible == (index < 4)
        if index == 1:  # a warm-up item before listening: the answer buttons wait for the first play
            assert page.is_disabled(".choice") and page.is_hidden("#next") and page.is_hidden("#feedback")
            page.screenshot(path=str(_screenshot_dir() / "trial-warmup.png"), full_page=True)
        # Space three times on the first item: one play, one replay, one refused (limit 1).
        plays = 3 if index == 0 else 1
        correct = index % 2 == 0
        label = _label_current_item(page, payload, answer_correctly=correct, plays=plays)
        feedback = page.inner_text("#feedback")
        expert = CampaignItem.objects.get(public_id=payload["item"]["id"]).utterance.label
        if correct:
            assert feedback == f"Yes: the experts also said {expert}."
        else:
            assert feedback == f"The experts said {expert}; you said {label}."
        assert page.inner_text("#progress-text") == f"{index + 1} of 16 done (your answers, warm-up included)"
        if index == 0:
            assert page.inner_text("#replay-info") == "0 replays left"
            # The waveform was decoded and drawn: bars reach well above the middle line.
            page.wait_for_function("() => document.getElementById('waveform').dataset.waveform === 'drawn'")
            assert page.evaluate(
                "() => { const c = document.getElementById('waveform');"
                " const row = c.getContext('2d').getImageData(0, Math.floor(c.height * 0.25), c.width, 1).data;"
                " let inked = 0; for (let i = 3; i < row.length; i += 4) { if (row[i] > 0) inked += 1; }"
                " return inked > c.width / 10; }"
            )
        if index == 5:
            page.screenshot(path=str(_screenshot_dir() / "trial.png"), full_page=True)
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(_screenshot_dir() / "trial-phone.png"), full_page=True)
            page.set_viewport_size(LAPTOP)
        answers.append((payload["item"]["phase"], label))
        with page.expect_response(lambda r: "/next/" in r.url) as following:
            page.keyboard.press("Enter")
        payload = following.value.json()
    context.close()
    assert script_errors == [] and failed_requests == []

    judgments = list(Judgment.objects.filter(campaign=campaign, assessor=assessor).order_by("position"))
    assert [(j.phase, j.answer) for j in judgments] == answers
    assert [j.is_correct for j in judgments] == [k % 2 == 0 for k in range(7)]
    assert [j.replays for j in judgments] == [1] + [0] * 6
    # Time from the first play to the answer: positive, and well under the time the test took.
    assert all(0 < j.response_ms < 60_000 for j in judgments)
    # The eighth item is reserved for the assessor, not yet answered.
    assert campaign.assignments.filter(assessor=assessor, answered_at__isnull=True).count() == 1


def test_mouse_and_tab_focus_work_and_no_feedback_when_it_is_off(
    chromium, live_server, live_server_closes_db_connections, allow_db_beside_playwright, tmp_path
):
    """Clicks (a phone user's taps) and Space/Enter on a focused button act once each; with feedback
    off the page shows no expert label after a scored answer."""
    corpus = make_corpus(tmp_path / "tiny", name="tiny", classes=CLASSES, seconds=2.0)
    campaign = campaign_create(corpus=corpus, name="Quiet round", created_by=None, feedback=False, warmup_per_class=0)
    assessor = make_user("assessor", username="tapper")
    confirm_instructions(campaign, assessor)
    context = chromium.new_context(viewport=PHONE, has_touch=True)
    page = context.new_page()
    _sign_in_with_the_keyboard(page, live_server.url, assessor.username)
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/label/")

    page.click("#play:not([disabled])")
    page.click('.choice[data-label="anger"]:not([disabled])')
    page.wait_for_selector("#feedback:not([hidden])")
    assert page.inner_text("#feedback") == "Saved: anger."
    assert page.locator(".choice.expert").count() == 0
    # Tapping the middle of the waveform plays from the middle (the byte ranges behind seeking are
    # tested on the server side in test_relabel_audio.py).
    page.wait_for_function("() => document.getElementById('waveform').dataset.waveform === 'drawn'")
    box = page.locator("#waveform").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    position = page.evaluate("() => { const a = document.getElementById('audio'); return a.currentTime / a.duration; }")
    assert 0.4 < position < 0.9  # from the middle, not from the start, nor left at the end
    page.click("#next:not([hidden])")

    page.wait_for_selector("#play:not([disabled])")
    page.focus("#play")
    page.keyboard.press("Space")  # the focused button is pressed once: one play, no replay
    page.wait_for_selector(".choice:not([disabled])")
    page.focus('.choice[data-label="neutral"]')
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback:not([hidden])")
    assert page.inner_text("#feedback") == "Saved: neutral."
    context.close()

    judgments = list(Judgment.objects.filter(campaign=campaign, assessor=assessor).order_by("position"))
    assert [(j.phase, j.answer, j.replays) for j in judgments] == [("main", "anger", 0), ("main", "neutral", 0)]
