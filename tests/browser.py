"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`).

`page` opens a fresh context against pytest-django's `live_server`, records every request
URL in `page.requests_seen` (to prove nothing leaves the origin), and `shot(page, name)`
saves a screenshot under test-results/screenshots/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still synchronous and safe.
    # The flag is process-wide, so it is restored afterwards: subprocess-based tests (such
    # as `check --deploy`) must not inherit it.
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run `make test` (it installs it) or "
                    "apt-get install chromium")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _page(browser, live_server, *, locale: str, viewport: dict):
    context = browser.new_context(locale=locale, viewport=viewport, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda req: page.requests_seen.append(req.url))
    return context, page


@pytest.fixture
def page(browser, live_server):
    """A phone-sized page (the residents' case)."""
    context, page = _page(browser, live_server, locale="uk-UA",
                          viewport={"width": 412, "height": 915})
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser, live_server):
    """A desktop-sized page (clerks and officials)."""
    context, page = _page(browser, live_server, locale="uk-UA",
                          viewport={"width": 1440, "height": 900})
    yield page
    context.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, username: str, password: str = "pass") -> None:
    """Log in through the real login form (the one in <main>, not the header's forms)."""
    page.goto("/accounts/login/")
    page.fill("main input[name=username]", username)
    page.fill("main input[name=password]", password)
    with page.expect_navigation():
        page.click("main form button[type=submit], main form input[type=submit]")
