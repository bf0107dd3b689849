"""The function list and the status summary at the top of a function's pages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rocketstack.deploy.validation import NAME_RE
from rocketstack.store.console_queries import FunctionSummary, summarize
from rocketstack.store.models import FunctionRecord, Tenant

if TYPE_CHECKING:
    from rocketstack.console.app import Console

PAGE_SIZE = 50
# Search scans at most this many functions, newest first.
MAX_SEARCHED = 5000
# Window of the list's error rate.
ERROR_RATE_SECONDS = 24 * 3600
_NO_INVOCATIONS = FunctionSummary(None, 0, 0)


@dataclass(frozen=True)
class FunctionRow:
    record: FunctionRecord
    public_url: str | None
    summary: FunctionSummary


def function_rows(console: Console, tenant: Tenant, records: list[FunctionRecord]) -> list[FunctionRow]:
    summaries = summarize(
        console.platform.store.engine, [r.id for r in records], time.time() - ERROR_RATE_SECONDS
    )
    return [
        FunctionRow(
            record,
            console.platform.functions.public_url(tenant, record),
            summaries.get(record.id, _NO_INVOCATIONS),
        )
        for record in records
    ]


def search(console: Console, tenant: Tenant, query: str) -> list[FunctionRecord]:
    """Return up to PAGE_SIZE functions whose name contains `query`, ignoring case."""
    needle = query.lower()
    found: list[FunctionRecord] = []
    cursor: str | None = None
    scanned = 0
    while scanned < MAX_SEARCHED:
        records, cursor = console.platform.store.list_functions(tenant.id, 100, cursor)
        scanned += len(records)
        found.extend(r for r in records if needle in r.name.lower())
        if len(found) >= PAGE_SIZE or cursor is None:
            break
    return found[:PAGE_SIZE]


def function_context(console: Console, request: Request, function_id: str) -> dict[str, Any]:
    """Return the tenant, the function and its public URL; a function of another tenant is
    not found."""
    tenant = console.tenant(request)
    record = console.platform.functions.get(tenant.id, function_id)
    return {
        "tenant": tenant,
        "function": record,
        "public_url": console.platform.functions.public_url(tenant, record),
    }


def routes(console: Console) -> list[Route]:
    store = console.platform.store

    async def list_page(request: Request) -> Response:
        tenant = console.tenant(request)
        query = request.query_params.get("q", "").strip()
        cursor = request.query_params.get("cursor") or None
        next_cursor = None
        if query:
            records = search(console, tenant, query)
        else:
            records, next_cursor = store.list_functions(tenant.id, PAGE_SIZE, cursor)
        # Only a valid function name is shown, so a crafted link cannot put other text here.
        deleted = request.query_params.get("deleted", "")
        context = {
            "tenant": tenant,
            "nav": "functions",
            "rows": function_rows(console, tenant, records),
            "query": query,
            "cursor": cursor,
            "next_cursor": next_cursor,
            "created": request.query_params.get("created"),
            "deleted": deleted if NAME_RE.match(deleted) else None,
        }
        # A search typed into the box replaces only the table.
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "function-table":
            return console.render(request, "_function_table.html", context)
        return console.render(request, "functions.html", context)

    async def row(request: Request) -> Response:
        tenant = console.tenant(request)
        record = console.platform.functions.get(tenant.id, request.path_params["function_id"])
        (item,) = function_rows(console, tenant, [record])
        return console.render(request, "_function_row.html", {"row": item})

    async def status(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        return console.render(request, "_function_status.html", context)

    async def detail(request: Request) -> Response:
        function_id = request.path_params["function_id"]
        return RedirectResponse(f"{console.base(request)}/functions/{function_id}/test", status_code=303)

    return [
        Route("/functions", list_page, methods=["GET"]),
        Route("/functions/{function_id}", detail, methods=["GET"]),
        Route("/functions/{function_id}/row", row, methods=["GET"]),
        Route("/functions/{function_id}/status", status, methods=["GET"]),
    ]
