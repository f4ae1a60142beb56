"""Browser tests: Playwright driving Debian's Chromium against a real gunicorn on loopback.

Screenshots go to artifacts/screenshots/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live import LiveServer
from tests.support import TEST_SECRET

CHROMIUM = "/usr/bin/chromium"
# Flags for a sandboxed, offline machine (no background network, no first-run UI).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{CHROMIUM} is required in CI")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(live_server_factory) -> LiveServer:
    return live_server_factory()


@pytest.fixture
def new_page(browser):
    """new_page(**context_options) -> a Page in a fresh context (own cookies)."""
    contexts = []

    def factory(**options):
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield factory
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="module")
def shared_server(database_url, tmp_path_factory):
    """One gunicorn for a module's tests (each test starts from empty tables), with the
    public form's minimum time and the page limits out of the way."""
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPTOUT_MIN_SECONDS": "0",
        # All the visits come from one address; the limits have tests of their own.
        "OPTOUT_RATE_LIMIT": "1000/minute",
        "OPTOUT_PAGE_LIMIT": "1000/minute",
        "OPTOUT_VALIDATE_LIMIT": "1000/minute",
        "TRUSTED_HOSTS": "127.0.0.1",
    }
    log = tmp_path_factory.mktemp("shared") / "gunicorn.log"
    server = LiveServer(env, log_path=log).start()
    yield server
    server.stop()
