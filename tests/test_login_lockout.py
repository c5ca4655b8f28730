"""Issue 12, item 3: sign-in is locked after repeated failures (django-axes), on the site's sign-in
page and the admin's, with the time to wait said plainly and the username kept.

The limits are the production defaults (EMOLAB_LOGIN_FAILURE_LIMIT 5, EMOLAB_LOGIN_COOLOFF_MINUTES 15).
"""

import html
import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY

from tests.factories import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db

PAGES = {"site": "/accounts/login/", "admin": "/admin/login/"}


def _sign_in(client, page, username, password, address="127.0.0.1"):
    return client.post(PAGES[page], {"username": username, "password": password}, REMOTE_ADDR=address)


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


def _username_value(response) -> str:
    match = re.search(r'<input[^>]*name="username"[^>]*>', response.content.decode())
    value = re.search(r'value="([^"]*)"', match.group(0))
    return html.unescape(value.group(1)) if value else ""


def test_the_defaults(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)


@pytest.mark.parametrize("page", ["site", "admin"])
def test_thirty_wrong_passwords_lock_the_account_and_the_right_one_is_refused_too(client, page):
    user = make_user("admin", username="dana")
    statuses = [_sign_in(client, page, "dana", f"wrong-{i}").status_code for i in range(30)]
    assert statuses[:4] == [200] * 4  # the form again, "did not match"
    assert set(statuses[4:]) == {429}  # the fifth failure locks
    response = _sign_in(client, page, "dana", TEST_PASSWORD)
    assert response.status_code == 429
    assert not _signed_in(client)
    text = html.unescape(response.content.decode())
    assert "Too many failed sign-ins for this username from your address. Try again in 15 minutes" in text
    assert int(response["Retry-After"]) == pytest.approx(15 * 60, abs=5)
    assert _username_value(response) == "dana"
    assert user.is_active  # locked for a while from here, not disabled


def test_a_failure_shows_the_form_again_with_the_username_kept(client):
    make_user("assessor", username="erin")
    response = _sign_in(client, "site", "erin", "wrong")
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert _username_value(response) == "erin"


def test_the_wait_counts_down_and_the_lock_ends_after_the_cool_off(client):
    make_user("assessor", username="finn")
    for _ in range(5):
        _sign_in(client, "site", "finn", "wrong")
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=11))
    response = _sign_in(client, "site", "finn", TEST_PASSWORD)
    assert response.status_code == 429
    assert "Try again in 4 minutes" in response.content.decode()
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=5))
    assert _sign_in(client, "site", "finn", TEST_PASSWORD).status_code == 302
    assert _signed_in(client)


def test_the_lock_is_for_one_username_from_one_address(client):
    make_user("assessor", username="gus")
    make_user("assessor", username="hana")
    for _ in range(5):
        _sign_in(client, "site", "gus", "wrong")
    assert _sign_in(client, "site", "gus", TEST_PASSWORD).status_code == 429
    # A classmate on the same address, and gus himself from another one, still sign in.
    assert _sign_in(client, "site", "hana", TEST_PASSWORD).status_code == 302
    client.logout()
    assert _sign_in(client, "site", "gus", TEST_PASSWORD, address="10.0.0.2").status_code == 302


def test_a_successful_sign_in_starts_the_count_again(client):
    make_user("assessor", username="ivy")
    for _ in range(4):
        _sign_in(client, "site", "ivy", "wrong")
    assert _sign_in(client, "site", "ivy", TEST_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _sign_in(client, "site", "ivy", "wrong").status_code == 200
    assert _sign_in(client, "site", "ivy", TEST_PASSWORD).status_code == 302
