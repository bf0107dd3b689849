"""The Console driven in Chromium against the real server: sign-in, the create form with
a ZIP upload, status, test events, the log tail, a failed creation and deletion."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.console.conftest import new_page, screenshot, sign_in
from tests.harness import ADMIN_KEY, EXAMPLES, Api, Server, make_zip, zip_dir

GUIDE = [
    ("nodejs20.x", "index.handler", "hello-node"),
    ("python3.12", "handler.handler", "hello-python"),
]

LOGGING_HANDLER = """\
import sys

def handler(event, context):
    print("handling", event.get("name"), "in", context.function_name)
    print("a warning on stderr", file=sys.stderr)
    return {"greeting": "hello " + str(event.get("name"))}
"""


def row_of(page: Page, name: str) -> Locator:
    return page.locator("tbody tr", has=page.get_by_role("link", name=name, exact=True))


def fill_create_form(
    page: Page, name: str, runtime: str, handler: str, code: bytes, **options: str
) -> None:
    page.goto("/console/functions")
    page.get_by_role("link", name="Create function").first.click()
    expect(page.get_by_role("heading", name="Create function", level=1)).to_be_visible()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Runtime").select_option(runtime)
    page.get_by_label("Handler").fill(handler)
    page.get_by_label("Code (ZIP)").set_input_files(
        {"name": "dist.zip", "mimeType": "application/zip", "buffer": code}
    )
    if "memoryMb" in options:
        page.get_by_label("Memory (MB)").fill(options["memoryMb"])
    if options.get("isPublic"):
        page.get_by_label("Public", exact=True).check()
        page.get_by_label("Public method").select_option(options.get("publicMethod", "POST"))


def test_sign_in_rejects_bad_key_then_signs_out(browser: Browser, server: Server) -> None:
    page = new_page(browser, server)
    page.goto("/console/functions")
    expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
    screenshot(page, "sign-in", full_page=False)

    page.get_by_label("API key").fill("rs_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#apiKey-error")).to_contain_text("the API key is invalid or revoked")

    page.get_by_label("API key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/functions$"))
    expect(page.locator(".tenant-name")).to_contain_text("default")
    expect(page.get_by_role("navigation", name="Console").get_by_role("link", name="Functions")).to_have_attribute(
        "aria-current", "page"
    )
    cookies = page.context.cookies()
    session = [c for c in cookies if c["name"] == "rocketstack_console"]
    assert session and session[0]["httpOnly"]
    assert "rocketstack_console=" not in page.evaluate("document.cookie")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.goto("/console/functions")
    expect(page).to_have_url(re.compile(r"/console/sign-in"))
    page.context.close()


@pytest.mark.parametrize(("runtime", "handler", "example"), GUIDE)
def test_create_guide_example_through_form(
    page: Page, api: Api, unique_name: str, runtime: str, handler: str, example: str
) -> None:
    fill_create_form(
        page, unique_name, runtime, handler, zip_dir(EXAMPLES / example),
        isPublic="true", publicMethod="POST",
    )
    page.locator("#envKey-0").fill("GREETING")
    page.locator("#envValue-0").fill("hello")
    page.get_by_role("button", name="Add variable").click()
    page.locator("#envKey-1").fill("STAGE")
    page.locator("#envValue-1").fill("test")
    if runtime == "nodejs20.x":
        screenshot(page, "create-function")
    page.get_by_role("button", name="Create function").click()

    expect(page).to_have_url(re.compile(r"/console/functions\?created="))
    row = row_of(page, unique_name)
    expect(row.locator(".badge")).to_have_text("ready")
    expect(row).to_contain_text(runtime)
    expect(row).to_contain_text("256 MB")
    public_url = row.locator(".copy-field code").inner_text()
    assert public_url.startswith("http://127.0.0.1:")
    if runtime == "nodejs20.x":
        screenshot(page, "functions")

    response = httpx.post(public_url, json={"hello": "world"})
    assert response.status_code == 200
    assert response.json() == {"received": {"hello": "world"}}

    function_id = row.get_by_role("link", name=unique_name).get_attribute("href").rsplit("/", 1)[1]
    function = api.get(function_id)
    assert function["env"] == {"GREETING": "hello", "STAGE": "test"}
    assert function["handler"] == handler
    assert function["publicMethod"] == "POST"


def test_saved_test_event_runs_with_logs(page: Page, api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name, "python3.12", "handler.handler", make_zip({"handler.py": LOGGING_HANDLER})
    )
    page.goto(f"/console/functions/{function['id']}")
    expect(page.get_by_role("link", name="Test")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("No saved events yet")).to_be_visible()

    for name in [f"event-{i:02d}" for i in range(12)] + ["world"]:
        page.get_by_label("Event name").fill(name)
        page.get_by_label("Event JSON").fill(f'{{"name": "{name}"}}')
        page.get_by_role("button", name="Save event").click()
        expect(page.get_by_role("status").filter(has_text="Saved the test event")).to_contain_text(name)
    saved = page.locator(".saved-list a")
    # More than the ten events some consoles stop at.
    expect(saved).to_have_count(13)

    page.goto(f"/console/functions/{function['id']}/test")
    page.get_by_role("link", name="world", exact=True).click()
    expect(page.get_by_label("Event JSON")).to_have_value('{"name": "world"}')
    page.get_by_role("button", name="Run test").click()

    result = page.locator("#test-result")
    expect(result.locator(".result-title")).to_contain_text("Succeeded")
    expect(result.locator(".result-body")).to_contain_text('"greeting": "hello world"')
    logs = result.locator(".invocation-logs")
    expect(logs).to_contain_text(f"handling world in {unique_name}")
    expect(logs.locator(".stream-stderr")).to_contain_text("a warning on stderr")
    request_id = result.locator(".request-id").inner_text()
    assert request_id
    expect(result).to_contain_text("Duration")
    expect(result).to_contain_text("of 256 MB")
    screenshot(page, "test")

    stored = api.logs(function["id"], requestId=request_id)
    assert [line["message"] for line in stored["logs"] if line["stream"] == "stdout"] == [
        f"handling world in {unique_name}"
    ]
    assert stored["reports"][0]["outcome"] == "success"

    page.get_by_role("link", name="event-03", exact=True).click()
    page.get_by_role("button", name="Delete saved event").click()
    expect(page.get_by_text("Deleted the saved test event.")).to_be_visible()
    expect(saved).to_have_count(12)

    # Deleting the function through the API removes its saved events too.
    assert api.http.delete(f"/v1/functions/{function['id']}").status_code == 200
    with closing(sqlite3.connect(api.server.data_dir / "rocketstack.db")) as database:
        (left,) = database.execute(
            "SELECT count(*) FROM saved_events WHERE function_id = ?", (function["id"],)
        ).fetchone()
    assert left == 0


def test_test_run_shows_handler_error(page: Page, api: Api, unique_name: str) -> None:
    code = make_zip({"handler.py": "def handler(event, context):\n    raise ValueError('bad input')\n"})
    function = api.deploy(unique_name, "python3.12", "handler.handler", code)
    page.goto(f"/console/functions/{function['id']}/test")
    page.get_by_label("Event JSON").fill("{not json")
    page.get_by_role("button", name="Run test").click()
    expect(page.locator("#test-result")).to_contain_text("the request body is not valid JSON")

    page.get_by_label("Event JSON").fill("{}")
    page.get_by_role("button", name="Run test").click()
    result = page.locator("#test-result")
    expect(result.locator(".result-title")).to_contain_text("Failed: ValueError")
    expect(result.locator(".result-title")).to_contain_text("HTTP 500")
    expect(result.locator(".invocation-logs")).to_contain_text("bad input")


def test_logs_tail_streams_new_lines(page: Page, api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name, "python3.12", "handler.handler", make_zip({"handler.py": LOGGING_HANDLER})
    )
    first = api.invoke(function["id"], {"name": "before"})
    assert first.status_code == 200
    page.goto(f"/console/functions/{function['id']}/logs")
    lines = page.locator("#log-lines")
    expect(lines).to_contain_text("handling before")
    expect(page.locator("#tail-status")).to_contain_text("Live")

    for name in ("tail-one", "tail-two"):
        assert api.invoke(function["id"], {"name": name}).status_code == 200
    expect(lines).to_contain_text("handling tail-one")
    expect(lines).to_contain_text("handling tail-two")
    screenshot(page, "logs")

    page.get_by_label("Stream").select_option("stderr")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"stream=stderr"))
    expect(lines.locator(".log-line").first).to_contain_text("a warning on stderr")
    expect(lines).not_to_contain_text("handling")
    assert api.invoke(function["id"], {"name": "filtered"}).status_code == 200
    expect(lines.locator(".log-line")).to_have_count(4)
    expect(lines).not_to_contain_text("handling filtered")

    second = api.invoke(function["id"], {"name": "by-request"})
    request_id = second.headers["x-rocketstack-request-id"]
    page.goto(f"/console/functions/{function['id']}/logs?requestId={request_id}")
    expect(lines.locator(".log-line")).to_have_count(2)
    expect(lines).to_contain_text("handling by-request")


def test_failed_creation_shows_reason(page: Page, unique_name: str) -> None:
    fill_create_form(
        page, unique_name, "nodejs20.x", "index.missing", zip_dir(EXAMPLES / "hello-node")
    )
    page.get_by_role("button", name="Create function").click()
    row = row_of(page, unique_name)
    expect(row.locator(".badge")).to_have_text("failed")
    expect(row.locator(".reason")).to_contain_text("missing")

    row.get_by_role("link", name=unique_name).click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Creation failed")
    expect(alert.locator(".reason")).to_contain_text("missing")
    screenshot(page, "failed-creation", full_page=False)


def test_create_form_shows_api_messages_beside_fields(page: Page, api: Api, unique_name: str) -> None:
    bad = {"name": "1-bad name", "memoryMb": "64"}
    fill_create_form(page, bad["name"], "python3.12", "handler.handler", make_zip({"handler.py": "x=1\n"}))
    page.get_by_label("Memory (MB)").fill(bad["memoryMb"])
    page.locator("#envKey-0").fill("ROCKETSTACK_TOKEN")
    page.locator("#envValue-0").fill("x")
    page.get_by_role("button", name="Create function").click()

    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(page.locator("#upload-label")).to_contain_text("choose the ZIP again")
    for field, sent in (("name", bad["name"]), ("memoryMb", bad["memoryMb"]), ("env", '{"ROCKETSTACK_TOKEN":"x"}')):
        fields = {"name": unique_name, "runtime": "python3.12", "handler": "handler.handler", field: sent}
        response = api.http.post(
            "/v1/functions", data=fields, files={"code": ("code.zip", make_zip({"handler.py": ""}), "application/zip")}
        )
        assert response.status_code == 400
        expect(page.locator(f"#{field}-error")).to_have_text(response.json()["error"]["message"])
    expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name")).to_have_value(bad["name"])
    screenshot(page, "create-function-errors")

    page.get_by_label("Name").fill("")
    page.get_by_label("Memory (MB)").fill("256")
    page.locator("#envKey-0").fill("")
    page.locator("#envValue-0").fill("")
    page.get_by_role("button", name="Create function").click()
    expect(page.locator("#name-error")).to_contain_text("name is required")
    expect(page.locator("#code-error")).to_contain_text("code is required")


def test_delete_needs_confirmation(page: Page, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"))
    page.goto(f"/console/functions/{function['id']}/configuration")
    expect(page.get_by_role("region", name="Settings")).to_contain_text(function["id"])
    expect(page.locator("#edit-form").get_by_label("Handler")).to_have_value("index.handler")
    screenshot(page, "configuration")
    page.get_by_text(f"Delete {unique_name}…").click()
    page.get_by_label("to confirm").fill("wrong-name")
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.locator("#confirm-error")).to_contain_text("is not the function name")
    assert api.http.get(f"/v1/functions/{function['id']}").status_code == 200

    page.get_by_label("to confirm").fill(unique_name)
    page.get_by_role("button", name="Delete permanently").click()
    expect(page.get_by_role("status").filter(has_text="Deleted function")).to_contain_text(unique_name)
    expect(row_of(page, unique_name)).to_have_count(0)
    assert api.http.get(f"/v1/functions/{function['id']}").status_code == 404


def test_search_filters_by_name(page: Page, api: Api, unique_name: str) -> None:
    api.deploy(unique_name + "-alpha", "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"))
    page.goto("/console/functions")
    page.get_by_label("Search by name").fill(unique_name + "-alp")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(row_of(page, unique_name + "-alpha")).to_be_visible()
    page.get_by_label("Search by name").fill("no-such-function-anywhere")
    expect(page.get_by_text("No function name contains")).to_be_visible()


def test_forms_reject_missing_csrf_token(server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"))
    with httpx.Client(base_url=server.url, cookies={"rocketstack_console": ADMIN_KEY}) as client:
        response = client.post(
            f"/console/functions/{function['id']}/delete", data={"confirm": unique_name}
        )
    assert response.status_code == 403
    assert api.http.get(f"/v1/functions/{function['id']}").status_code == 200


def test_invalid_session_redirects_to_sign_in(browser: Browser, server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"))
    with httpx.Client(base_url=server.url, cookies={"rocketstack_console": "rs_wrong"}) as client:
        response = client.get(f"/console/functions/{function['id']}/test")
    assert response.status_code == 303
    assert "/console/sign-in" in response.headers["location"]


def test_other_tenant_sees_not_found(browser: Browser, server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"))
    created = api.http.post("/v1/tenants", json={"name": unique_name})
    assert created.status_code == 201, created.text
    page = new_page(browser, server)
    sign_in(page, created.json()["data"]["apiKey"])
    expect(page.locator(".tenant-name")).to_contain_text(unique_name)
    expect(page.get_by_role("heading", name="No functions yet")).to_be_visible()

    for tab in ("test", "logs", "monitor", "configuration"):
        response = page.goto(f"/console/functions/{function['id']}/{tab}")
        assert response is not None
        assert response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    response = page.request.get(f"/console/functions/{function['id']}/logs/tail")
    assert response.status == 404
    page.context.close()


def test_narrow_screen_has_no_sideways_scroll(browser: Browser, server: Server, api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name, "nodejs20.x", "index.handler", zip_dir(EXAMPLES / "hello-node"), isPublic="true"
    )
    assert api.invoke(function["id"], {"method": "GET"}).status_code == 200
    page = new_page(browser, server, viewport={"width": 375, "height": 800})
    sign_in(page)
    tabs = [f"/console/functions/{function['id']}/{tab}" for tab in ("test", "logs", "monitor", "configuration")]
    for path in ("/console/functions", "/console/functions/new", "/console/assistant", *tabs):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide on a 375 px screen"
    page.goto("/console/functions")
    screenshot(page, "functions-narrow", full_page=False)
    page.context.close()


def test_keyboard_reaches_create_form(page: Page) -> None:
    page.goto("/console/functions")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Create function":
            break
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Create function", level=1)).to_be_visible()


def test_configuration_edit_updates_function(page: Page, api: Api, unique_name: str) -> None:
    function = api.deploy(
        unique_name, "python3.12", "handler.handler", make_zip({"handler.py": LOGGING_HANDLER}),
        env='{"KEEP":"1","DROP":"2"}',
    )
    page.goto(f"/console/functions/{function['id']}/configuration")
    form = page.locator("#edit-form")
    expect(form.get_by_label("Name")).to_have_value(unique_name)
    expect(form.get_by_label("Memory (MB)")).to_have_value("256")

    form.get_by_label("Memory (MB)").fill("99999")
    form.get_by_role("button", name="Save changes").click()
    response = api.http.patch(f"/v1/functions/{function['id']}", json={"memoryMb": 99999})
    assert response.status_code == 400
    expect(page.locator("#memoryMb-error")).to_have_text(response.json()["error"]["message"])

    page.get_by_label("Memory (MB)").fill("512")
    page.get_by_label("Timeout (seconds)").fill("20")
    expect(page.locator("#envKey-0")).to_have_value("DROP")
    page.locator("#envKey-0").fill("")
    page.locator("#envValue-0").fill("")
    page.locator("#envKey-2").fill("ADDED")
    page.locator("#envValue-2").fill("3")
    page.get_by_label("Code (ZIP)", exact=False).set_input_files(
        {
            "name": "v2.zip",
            "mimeType": "application/zip",
            "buffer": make_zip({"handler.py": "def handler(event, context):\n    return 'v2'\n"}),
        }
    )
    expect(page.locator("#upload")).to_be_hidden()
    screenshot(page, "configuration-edit")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").filter(has_text="The update was accepted")).to_be_visible()
    expect(page.locator("#function-status")).to_contain_text("The last update succeeded")

    updated = api.get(function["id"])
    assert updated["memoryMb"] == 512
    assert updated["timeoutSeconds"] == 20
    assert updated["env"] == {"ADDED": "3", "KEEP": "1"}
    assert updated["version"] == 2
    assert api.invoke(function["id"], {}).json() == "v2"

    expect(page.locator("#edit-form").get_by_label("Memory (MB)")).to_have_value("512")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#form-error")).to_contain_text("nothing changed")
