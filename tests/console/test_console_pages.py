"""Every Console page: an axe accessibility check each, and what the Monitor and
"Connect an AI assistant" pages show."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.console.conftest import check_axe, new_page, screenshot, sign_in
from tests.harness import ADMIN_KEY, Server, make_zip

_names = itertools.count(1)

HANDLER = """\
def handler(event, context):
    print("event", event)
    if event.get("fail"):
        raise RuntimeError("asked to fail")
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def invoked(server: Server) -> Iterator[dict[str, Any]]:
    """A public function with a few successful and failed invocations."""
    with server.client() as api:
        function = api.deploy(
            f"pages-{next(_names)}", "python3.12", "handler.handler", make_zip({"handler.py": HANDLER}),
            isPublic="true", publicMethod="GET", description="Prints its event",
        )
        for index in range(6):
            assert api.invoke(function["id"], {"n": index}).status_code == 200
        for index in range(2):
            assert api.invoke(function["id"], {"fail": True}).status_code == 500
        yield function


PAGES = {
    "sign-in": None,
    "functions": "/console/functions",
    "create-function": "/console/functions/new",
    "test": "/console/functions/{id}/test",
    "logs": "/console/functions/{id}/logs",
    "monitor": "/console/functions/{id}/monitor",
    "configuration": "/console/functions/{id}/configuration",
    "assistant": "/console/assistant",
    "not-found": "/console/functions/fn_missing/test",
}


@pytest.mark.parametrize("name", list(PAGES))
def test_page_passes_axe(browser: Browser, server: Server, invoked: dict[str, Any], name: str) -> None:
    page = new_page(browser, server)
    if name == "sign-in":
        page.goto("/console/sign-in")
    else:
        sign_in(page)
        page.goto(PAGES[name].format(id=invoked["id"]))
    if name == "test":
        page.get_by_role("button", name="Run test").click()
        expect(page.locator(".result-title")).to_contain_text("Succeeded")
    if name == "logs":
        expect(page.locator("#tail-status")).to_contain_text("Live")
    check_axe(page)
    page.context.close()


def test_empty_list_passes_axe(browser: Browser, fresh_server: Server) -> None:
    fresh_server.start()
    page = new_page(browser, fresh_server)
    sign_in(page)
    expect(page.get_by_role("heading", name="No functions yet")).to_be_visible()
    expect(page.get_by_role("link", name="Create function")).to_have_count(2)
    screenshot(page, "functions-empty", full_page=False)
    check_axe(page)
    page.context.close()


def reports_of(server: Server, function_id: str) -> list[dict[str, Any]]:
    with server.client() as api:
        return list(api.logs(function_id)["reports"])


def test_monitor_plots_stored_reports(page: Page, server: Server, invoked: dict[str, Any]) -> None:
    page.goto(f"/console/functions/{invoked['id']}/monitor")
    reports = reports_of(server, invoked["id"])
    errors = [r for r in reports if r["outcome"] == "error"]
    assert len(errors) == 2
    stats = page.locator(".stats")
    expect(stats.locator(".stat", has_text="Invocations").locator("dd")).to_have_text(str(len(reports)))
    expect(stats.locator(".stat", has_text="Errors").locator("dd")).to_have_text("2")
    expect(stats.locator(".stat", has_text="Throttles").locator("dd")).to_have_text("0")
    charts = page.get_by_role("img")
    for title in ("Invocations per 1 min", "Errors per 1 min", "Throttles per 1 min", "Duration percentiles"):
        expect(charts.filter(has=page.locator(f"title:text-is('{title}')"))).to_have_count(1)
    expect(page.locator("svg rect.bar-invocations")).not_to_have_count(0)
    expect(page.locator("svg rect.bar-errors")).not_to_have_count(0)
    screenshot(page, "monitor")

    page.get_by_text("Show the numbers as a table").click()
    table = page.locator(".data-table table")
    expect(table.locator("tbody tr").first).to_be_visible()
    page.get_by_role("link", name="Last 24 hours").click()
    expect(page.get_by_role("link", name="Last 24 hours")).to_have_attribute("aria-current", "page")
    expect(page.locator("title:text-is('Invocations per 15 min')")).to_have_count(1)


def test_list_shows_rate_and_last_invocation(page: Page, server: Server, invoked: dict[str, Any]) -> None:
    page.goto("/console/functions")
    total = len(reports_of(server, invoked["id"]))
    rate = f"{2 / total * 100:.1f}%".replace(".0%", "%")
    row = page.locator("tbody tr", has=page.get_by_role("link", name=invoked["name"], exact=True))
    expect(row.locator("td[data-label='Error rate']")).to_contain_text(rate)
    expect(row.locator("td[data-label='Error rate']")).to_contain_text(f"of {total}")
    expect(row.locator("td[data-label='Last invocation'] time")).to_contain_text("ago")
    expect(row).to_contain_text("Prints its event")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    row.get_by_role("button", name=f"Copy public URL of {invoked['name']}").click()
    expect(row.get_by_role("button", name=f"Copy public URL of {invoked['name']}")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == invoked["publicUrl"]


def test_assistant_page_has_this_server_url(page: Page, server: Server) -> None:
    page.goto("/console/functions")
    page.get_by_role("link", name="Connect an AI assistant").click()
    expect(page.get_by_role("heading", name="Connect an AI assistant")).to_be_visible()
    stdio = json.loads(page.locator("#claude-desktop-stdio-code").inner_text())
    assert stdio["mcpServers"]["rocketstack"] == {
        "command": "rocketstack",
        "args": ["mcp"],
        "env": {"ROCKETSTACK_API_URL": server.url, "ROCKETSTACK_API_KEY": "YOUR_API_KEY"},
    }
    cursor = json.loads(page.locator("#cursor-http-code").inner_text())
    assert cursor["mcpServers"]["rocketstack"] == {
        "url": f"{server.url}/mcp",
        "headers": {"Authorization": "Bearer YOUR_API_KEY"},
    }
    windsurf = json.loads(page.locator("#windsurf-http-code").inner_text())
    assert windsurf["mcpServers"]["rocketstack"]["serverUrl"] == f"{server.url}/mcp"
    vscode = json.loads(page.locator("#vscode-http-code").inner_text())
    assert vscode["servers"]["rocketstack"]["url"] == f"{server.url}/mcp"
    expect(page.locator("#claude-code-http-code")).to_contain_text(
        f"--transport http rocketstack {server.url}/mcp"
    )
    screenshot(page, "assistant")


def test_assistant_http_snippet_reaches_mcp(page: Page, server: Server) -> None:
    page.goto("/console/assistant")
    config = json.loads(page.locator("#cursor-http-code").inner_text())["mcpServers"]["rocketstack"]
    headers = {
        "Authorization": config["headers"]["Authorization"].replace("YOUR_API_KEY", ADMIN_KEY),
        "Accept": "application/json, text/event-stream",
    }
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "console-test", "version": "1"},
        },
    }
    response = httpx.post(config["url"], json=initialize, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert "rocketstack" in response.text.lower()


def test_unknown_console_page_is_html_404(page: Page) -> None:
    response = page.goto("/console/no-such-page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def test_function_detail_polls_while_creating(page: Page, server: Server) -> None:
    # A handler whose import sleeps keeps the function in "creating" for a moment.
    with server.client() as api:
        slow = make_zip({"handler.py": "import time\ntime.sleep(1.5)\ndef handler(e, c):\n    return 1\n"})
        created = api.create(f"pages-slow-{next(_names)}", "python3.12", "handler.handler", slow)
        assert created.status_code == 202
        function_id = created.json()["data"]["resourceId"]
    page.goto(f"/console/functions/{function_id}/test")
    badge = page.locator("#function-status .badge")
    expect(badge).to_have_text("creating")
    expect(badge).to_have_text("ready")
