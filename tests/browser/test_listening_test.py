"""Issue 15's "done when", in Chromium: instructions confirmed; warm-up, then the break screen; a
"can't tell" answer; an undo before the next item plays and a refused one after; an answer refused
for listening too little, then accepted; a break reminder; the phone viewport without key hints.
On the way: a wrong password keeps the user name (bug 5), a key pressed while an item loads acts
once it is ready (bug 1), and no item is shown before its waveform (bug 2).
Screenshots go to var/screenshots/listening-*.png (the test prints the folder)."""

from pathlib import Path

import pytest
from django.conf import settings

from annotation.models import CampaignItem, InstructionsConfirmation, Judgment
from annotation.services.campaigns import campaign_create
from tests.factories import TEST_PASSWORD, make_corpus, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLASSES = ("anger", "neutral")
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _shots() -> Path:
    folder = Path(settings.VAR_DIR) / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page, name: str) -> None:
    page.screenshot(path=str(_shots() / f"listening-{name}.png"), full_page=True)


def _expert(item: dict) -> str:
    return CampaignItem.objects.select_related("utterance").get(public_id=item["id"]).utterance.label


def _key_of(label: str) -> str:
    return str(CLASSES.index(label) + 1)


def _other(label: str) -> str:
    return next(c for c in CLASSES if c != label)


def _wait_ready(page) -> None:
    page.wait_for_selector("#play:not([disabled])")
    # Bug 2: the item is shown with its waveform already drawn, never a flat line first.
    assert page.evaluate("() => document.getElementById('waveform').dataset.waveform") == "drawn"


def _listen_and_answer(page, key: str) -> dict:
    """Play, wait until the listening rule opens the answers, answer with ``key``; the response body."""
    page.keyboard.press("Space")
    page.wait_for_selector(".choice:not([disabled])")
    with page.expect_response(lambda r: r.url.endswith("/answers/")) as answered:
        page.keyboard.press(key)
    assert answered.value.status == 201, answered.value.text()
    page.wait_for_selector("#feedback:not([hidden])")
    return answered.value.json()


def _next_item(page, key: str = "Enter") -> dict:
    with page.expect_response(lambda r: r.url.endswith("/next/")) as following:
        page.keyboard.press(key)
    return following.value.json()


def _api(page, url: str, body: dict) -> dict:
    """A POST from the page itself (its session and CSRF token): what the server answers a client."""
    return page.evaluate(
        """async ([url, body]) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(url, {method: "POST", credentials: "same-origin",
              headers: {"Content-Type": "application/json", "X-CSRFToken": token}, body: JSON.stringify(body)});
            return {status: r.status, body: await r.json()};
        }""",
        [url, body],
    )


def test_a_listening_test_from_instructions_to_the_phone(
    chromium, live_server, live_server_closes_db_connections, allow_db_beside_playwright, tmp_path
):
    corpus = make_corpus(tmp_path / "tiny", name="tiny", classes=CLASSES, seconds=0.6)
    campaign = campaign_create(
        corpus=corpus,
        name="Listening round",
        created_by=None,
        warmup_per_class=1,
        allow_cant_tell=True,
        break_every=4,
        instructions="## Before you start\n\nUse **headphones** in a quiet room. <script>alert(1)</script>",
        class_definitions={"anger": "a raised, tense voice", "neutral": "no emotion in particular"},
    )
    assessor = make_user("assessor", username="listener")
    base = live_server.url
    context = chromium.new_context(viewport=LAPTOP)
    page = context.new_page()
    script_errors = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.on("dialog", lambda dialog: script_errors.append(f"dialog: {dialog.message}"))

    # Bug 5: a wrong password keeps the user name in its field.
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", assessor.username)
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    page.wait_for_selector(".error")
    assert page.input_value("#id_username") == assessor.username
    _shot(page, "0-wrong-password")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")

    # 1. Instructions shown before the warm-up, rendered safely, confirmed once.
    page.goto(f"{base}/campaigns/{campaign.pk}/label/")
    page.wait_for_url(f"{base}/campaigns/{campaign.pk}/instructions/")
    assert page.inner_text(".instructions-text strong") == "headphones"
    assert page.locator(".instructions-text script").count() == 0
    assert "a raised, tense voice" in page.inner_text(".class-definitions")
    _shot(page, "1-instructions")
    with page.expect_response(lambda r: r.url.endswith("/next/")) as first:
        page.click("#confirm-instructions")
    assert InstructionsConfirmation.objects.filter(campaign=campaign, assessor=assessor).count() == 1
    item = first.value.json()["item"]
    assert item["phase"] == "warmup"
    _wait_ready(page)
    assert page.is_visible("#warmup-banner") and page.is_hidden("#scored-banner")
    assert page.get_attribute("#instructions-link", "href") == f"/campaigns/{campaign.pk}/instructions/"

    # 5. An answer refused for listening too little, then accepted.
    answer_url = f"/api/campaigns/{campaign.pk}/answers/"
    page.keyboard.press("Space")
    page.keyboard.press(_key_of(_expert(item)))  # at once: the page refuses, nothing is sent
    assert "Listen to the clip first" in page.inner_text("#status")
    refused = _api(page, answer_url, {"item": item["id"], "label": "anger", "response_ms": 30, "played_fraction": 0.05})
    assert refused["status"] == 409
    assert refused["body"]["detail"].startswith("you have heard 5% of the clip")
    _shot(page, "5-listen-first")
    page.wait_for_selector(".choice:not([disabled])")  # the clip played to its end
    with page.expect_response(lambda r: r.url.endswith("/answers/")) as answered:
        page.keyboard.press(_key_of(_other(_expert(item))))  # a slip: the wrong label
    assert answered.value.status == 201
    page.wait_for_selector("#feedback:not([hidden])")

    # 4. Undo before the next item plays: U, then the right label.
    page.keyboard.press("u")
    page.wait_for_selector(".choice:not([disabled])")
    with page.expect_response(lambda r: r.url.endswith("/change/")) as changed:
        page.keyboard.press(_key_of(_expert(item)))
    assert changed.value.status == 200 and changed.value.json()["correct"] is True
    page.wait_for_function("() => document.getElementById('feedback').textContent.startsWith('Changed.')")
    _shot(page, "4-undo")
    undone_item = item
    item = _next_item(page)["item"]
    _wait_ready(page)
    # ...and refused once the next item is there: the page says so, the server refuses too.
    page.keyboard.press("u")
    assert page.inner_text("#status") == "Too late to change the last answer: the next item has started."
    late = _api(page, f"/api/campaigns/{campaign.pk}/answers/{undone_item['id']}/change/", {"label": "anger"})
    assert late["status"] == 409 and late["body"]["detail"].startswith("too late to change this answer")
    _shot(page, "4-undo-refused")

    # 2. The second warm-up item, then the break screen before the scored items.
    _listen_and_answer(page, _key_of(_expert(item)))
    item = _next_item(page)["item"]
    assert item["phase"] == "main"
    page.wait_for_selector("#pause:not([hidden])")
    assert page.inner_text("#pause-title") == "Warm-up done"
    assert "From now on your answers count." in page.inner_text("#pause-text")
    _shot(page, "2-warmup-done")
    page.keyboard.press("Enter")
    _wait_ready(page)
    assert page.is_visible("#scored-banner") and page.is_hidden("#warmup-banner")

    # 3. "Can't tell" on its key.
    result = _listen_and_answer(page, "0")
    assert result["correct"] is False
    assert page.inner_text("#feedback") == f"You said you can't tell; the experts said {_expert(item)}."
    _shot(page, "3-cant-tell")

    # Bug 1: Enter then Space at once: the Space pressed while loading plays the item once it is ready.
    with page.expect_response(lambda r: r.url.endswith("/next/")) as following:
        page.keyboard.press("Enter")
        page.keyboard.press("Space")
    item = following.value.json()["item"]
    page.wait_for_selector(".choice:not([disabled])")  # it played to the end with no second Space
    with page.expect_response(lambda r: r.url.endswith("/answers/")):
        page.keyboard.press(_key_of(_expert(item)))
    page.wait_for_selector("#feedback:not([hidden])")

    # 6. A break reminder after 4 items, with the progress.
    _next_item(page)
    page.wait_for_selector("#pause:not([hidden])")
    assert page.inner_text("#pause-title") == "Time for a break"
    assert page.inner_text("#pause-text").startswith("You have answered 4 of 16 items.")
    _shot(page, "6-break")
    page.keyboard.press("Enter")
    _wait_ready(page)
    assert script_errors == []
    context.close()

    # 7. The phone: no key hints, the nav on one line, the progress bar to the card's edge.
    phone = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = phone.new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", assessor.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/campaigns/{campaign.pk}/label/")
    _wait_ready(page)
    visible_hints = page.evaluate(
        "() => Array.from(document.querySelectorAll('kbd, .help, .key-hint'))"
        ".filter(e => e.offsetParent !== null).length"
    )
    assert visible_hints == 0
    nav = page.locator(".nav").bounding_box()
    link = page.locator(".nav a").first.bounding_box()
    assert nav["height"] < 2 * link["height"]  # one line
    assert page.locator(".topbar").bounding_box()["height"] < 3 * link["height"]  # the whole bar, too
    bar = page.locator(".trial-progress .progress").bounding_box()
    head = page.locator(".trial-head").bounding_box()
    assert abs((bar["x"] + bar["width"]) - (head["x"] + head["width"])) <= 2
    _shot(page, "7-phone")
    phone.close()
    print(f"screenshots in {_shots()}: listening-*.png")

    judgments = {j.item.public_id.hex: j for j in Judgment.objects.filter(assessor=assessor).select_related("item")}
    assert len(judgments) == 4
    changed_judgment = judgments[undone_item["id"].replace("-", "")]
    assert changed_judgment.answer == _expert(undone_item) and changed_judgment.first_answer == _other(
        _expert(undone_item)
    )
    assert changed_judgment.changed_at is not None
    assert [j.answer for j in judgments.values()].count("cant_tell") == 1
    # Every answer came after the whole 0.6 s clip: the played share and the time say so.
    assert all(j.played_fraction >= 0.98 and j.response_ms >= 540 for j in judgments.values())
