"""The Test tab: a JSON event editor, saved test events per function, and a run that shows
the result beside that invocation's logs, duration, memory used and request id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rocketstack.api.body import limit_body
from rocketstack.api.functions import MAX_EVENT_BYTES
from rocketstack.console.functions import function_context
from rocketstack.console.session import check_csrf
from rocketstack.context import request_id_var
from rocketstack.errors import PayloadTooLarge, RocketstackError
from rocketstack.runtime.instance import Outcome
from rocketstack.runtime.pool import InvocationResult
from rocketstack.store.models import FunctionRecord

if TYPE_CHECKING:
    from rocketstack.console.app import Console

DEFAULT_EVENT = '{\n  "method": "GET",\n  "query": {"name": "world"},\n  "body": null\n}'
MAX_EVENT_NAME = 64
_STATUS = {
    Outcome.SUCCESS: 200,
    Outcome.ERROR: 500,
    Outcome.OUT_OF_MEMORY: 500,
    Outcome.TIMEOUT: 504,
}


@dataclass(frozen=True)
class RunResult:
    """The content of the result panel: the invocation, or the error that stopped it."""


    result: InvocationResult | None
    status: int
    body: str
    error_code: str | None = None
    error_message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.result is not None and self.result.outcome is Outcome.SUCCESS

    @property
    def error_type(self) -> str:
        """Return the handler error's errorType, e.g. "TypeError" or "TimeoutError"."""
        if self.result is None:
            return ""
        try:
            error = orjson.loads(self.result.body)
        except orjson.JSONDecodeError:
            return self.result.outcome.value
        if isinstance(error, dict) and isinstance(error.get("errorType"), str):
            return str(error["errorType"])
        return self.result.outcome.value


def pretty_json(body: bytes) -> str:
    try:
        return orjson.dumps(orjson.loads(body), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")


def check_event(text: str) -> str | None:
    """Return the API's message for an event that is not valid JSON, else None."""
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return f"the request body is not valid JSON ({error}); send the event as JSON"
    return None


def check_event_name(name: str) -> str | None:
    if not name:
        return "enter a name for the saved event"
    if len(name) > MAX_EVENT_NAME or not name.isprintable():
        return f"event name {name[:80]!r} is invalid; use 1-{MAX_EVENT_NAME} printable characters"
    return None


def routes(console: Console) -> list[Route]:
    functions = console.platform.functions

    def tab(request: Request, context: dict[str, Any], *, status: int = 200, **extra: Any) -> Response:
        record: FunctionRecord = context["function"]
        saved = console.saved_events.list(record.id)
        selected = extra.pop("selected", None) or request.query_params.get("event") or ""
        event_text = extra.pop("event_text", None)
        if event_text is None:
            chosen = console.saved_events.get(record.id, selected) if selected else None
            event_text = chosen.body if chosen else DEFAULT_EVENT
            if chosen is None:
                selected = ""
        return console.render(
            request,
            "tab_test.html",
            {
                **context,
                "tab": "test",
                "saved_events": saved,
                "selected": selected,
                "event_text": event_text,
                "saved_message": request.query_params.get("saved"),
                **extra,
            },
            status=status,
        )

    async def read_form(request: Request) -> FormData:
        limit_body(request, MAX_EVENT_BYTES + 64 * 1024, "the test event")
        form = await request.form(max_files=0, max_fields=10)
        check_csrf(request, form)
        return form

    async def page(request: Request) -> Response:
        return tab(request, function_context(console, request, request.path_params["function_id"]))

    async def run(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        try:
            form = await read_form(request)
        except PayloadTooLarge as error:
            outcome = RunResult(None, error.status, "", error.code, error.message)
            return _show(request, context, outcome, "", "")
        text = str(form.get("event") or "").strip() or "{}"
        name = str(form.get("eventName") or "").strip()
        problem = check_event(text)
        if problem is not None:
            outcome = RunResult(None, 400, "", "InvalidRequestContent", problem)
            return _show(request, context, outcome, text, name, event_error=problem)
        try:
            result = await functions.invoke(context["function"], request_id_var.get(), text.encode())
        except RocketstackError as error:
            outcome = RunResult(None, error.status, "", error.code, error.message)
        else:
            outcome = RunResult(result, _STATUS[result.outcome], pretty_json(result.body))
        return _show(request, context, outcome, text, name)

    def _show(
        request: Request,
        context: dict[str, Any],
        outcome: RunResult,
        text: str,
        name: str,
        event_error: str | None = None,
    ) -> Response:
        if request.headers.get("hx-request"):
            return console.render(request, "_test_result.html", {**context, "run": outcome})
        return tab(request, context, run=outcome, event_text=text, selected=name, event_error=event_error)

    async def save(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        try:
            form = await read_form(request)
        except PayloadTooLarge as error:
            return tab(request, context, status=413, event_error=error.message)
        text = str(form.get("event") or "").strip() or "{}"
        name = str(form.get("eventName") or "").strip()
        name_error = check_event_name(name)
        event_error = check_event(text)
        if name_error or event_error:
            return tab(
                request, context, status=400, event_text=text, selected=name,
                name_error=name_error, event_error=event_error,
            )
        console.saved_events.save(record.id, name, text)
        return RedirectResponse(
            f"{console.base(request)}/functions/{record.id}/test?event={quote(name)}&saved=saved",
            status_code=303,
        )

    async def delete(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        form = await read_form(request)
        name = str(form.get("eventName") or "").strip()
        console.saved_events.delete(record.id, name)
        return RedirectResponse(
            f"{console.base(request)}/functions/{record.id}/test?saved=deleted", status_code=303
        )

    return [
        Route("/functions/{function_id}/test", page, methods=["GET"]),
        Route("/functions/{function_id}/test/run", run, methods=["POST"]),
        Route("/functions/{function_id}/test/events", save, methods=["POST"]),
        Route("/functions/{function_id}/test/events/delete", delete, methods=["POST"]),
    ]
