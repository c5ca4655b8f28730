"""Headless Chromium (Debian's package) driven by Playwright's Python package; no browser download.

Without a browser the tests skip, saying why, unless EMOLAB_REQUIRE_BROWSER=1 (CI), where they fail.
"""

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def _chromium_executable() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def _unavailable(reason: str):
    if os.environ.get("EMOLAB_REQUIRE_BROWSER") == "1":
        pytest.fail(f"EMOLAB_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def chromium():
    """Function-scoped on purpose: while Playwright runs, this thread has an event loop, and Django
    would refuse database access in every later test of the session."""
    executable = _chromium_executable()
    if executable is None:
        _unavailable("no Chromium found (install Debian's chromium package)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def allow_db_beside_playwright(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; Django refuses database access from
    # a thread with a running loop unless told it is safe (it is: the test is single-threaded).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    # Database work done while Playwright ran may have opened a connection of its own (its greenlets
    # carry their own context); left open, it keeps PostgreSQL from dropping the test database.
    from django.db import connections

    connections.close_all()


@pytest.fixture
def live_server_closes_db_connections():
    """The live server answers each browser connection in its own thread and, with CONN_MAX_AGE > 0
    (the PostgreSQL settings), such a thread keeps its database connection while the browser keeps
    the socket alive, so the test database could not be dropped at the end of the session.
    With 0, every request closes its connection when it ends."""
    from django.db import connections

    settings_dict = connections["default"].settings_dict
    previous = settings_dict.get("CONN_MAX_AGE", 0)
    settings_dict["CONN_MAX_AGE"] = 0
    yield
    settings_dict["CONN_MAX_AGE"] = previous
