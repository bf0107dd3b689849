"""Schemathesis hooks for the contract test (loaded through SCHEMATHESIS_HOOKS).

Most generated function ids do not exist, so requests would stop at 404 before reaching a
handler. This hook points about three of every four GET and POST requests with a made-up
id at a ready function (ROCKETSTACK_FUZZ_FUNCTION_ID), so generated events reach real
code, and keeps DELETE away from that function so it survives the whole run. A request
with follow=true for the logs route gets `until` set to now, so its event stream ends
instead of staying open until the request times out.
"""

from __future__ import annotations

import os
import re
import time
import zlib
from typing import Any

import schemathesis

READY_FUNCTION_ID = os.environ["ROCKETSTACK_FUZZ_FUNCTION_ID"]
# Ids the server creates; the fuzzer gets them from responses, through the document's links.
_SERVER_ID = re.compile(r"fn_[0-9a-f]{20}")


_TRUE = {"true", "1", "yes"}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    query = case.query
    if query and str(query.get("follow", "")).strip().lower() in _TRUE:
        query["until"] = f"{time.time():.3f}"
    parameters = case.path_parameters
    if not parameters or "function_id" not in parameters:
        return
    current = str(parameters["function_id"])
    if case.operation.method.upper() == "DELETE":
        if current == READY_FUNCTION_ID:
            parameters["function_id"] = "fn_fuzz_deleted"
        return
    if _SERVER_ID.fullmatch(current):
        return
    if zlib.crc32(current.encode()) % 4:
        parameters["function_id"] = READY_FUNCTION_ID
