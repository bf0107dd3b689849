"""Fixtures of the Console's browser tests: Debian's Chromium driven by Playwright, a
signed-in page, and an axe accessibility check."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

from tests.harness import ADMIN_KEY, Server

CHROMIUM = os.environ.get("ROCKETSTACK_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
# Set to a folder to save screenshots of the pages the tests visit, e.g. docs/console.
SCREENSHOTS = os.environ.get("ROCKETSTACK_CONSOLE_SCREENSHOTS")

expect.set_options(timeout=20_000)


# Module scope: Playwright's sync API keeps an event loop running while it is open, which
# would break tests elsewhere in the session that call asyncio.run().
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing; run scripts/install-test-deps.sh as root (make test does)")
    instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    yield instance
    instance.close()


def new_page(browser: Browser, server: Server, **options: Any) -> Page:
    # axe is injected as an inline script, which the Console's CSP would block.
    context = browser.new_context(base_url=server.url, bypass_csp=True, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def sign_in(page: Page, key: str = ADMIN_KEY) -> None:
    page.goto("/console/sign-in")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/functions"))


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A signed-in page of its own browser context."""
    page = new_page(browser, server)
    sign_in(page)
    yield page
    page.context.close()


def check_axe(page: Page) -> None:
    """Run axe-core on the page and fail with each violation's rule and elements."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing; run `npm ci --prefix tests/console` (make test does)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    problems = [
        f"{violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
        for violation in result["violations"]
    ]
    assert not problems, f"axe found violations on {page.url}:\n" + "\n".join(problems)


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)
