"""The mapping between HTTP and events: a request becomes the `{method, query, body, ...}`
event; a handler's return value becomes the HTTP response."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl

import orjson

from rocketstack.errors import InvalidRequestBody

# Headers the server sets itself; a handler's values for them are dropped.
_HOP_BY_HOP = {
    # The gateway sets its own request id on every response.
    "x-request-id",
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "te",
    "trailer",
}
# Bodies of these types reach the handler base64-encoded even when they decode as UTF-8.
_BINARY_TYPES = (
    "image/",
    "audio/",
    "video/",
    "font/",
    "application/octet-stream",
    "application/zip",
    "application/gzip",
    "application/pdf",
)


def parse_query(raw: bytes) -> dict[str, str | list[str]]:
    """Return the query parameters; a repeated key becomes a list of its values."""
    query: dict[str, str | list[str]] = {}
    if not raw:
        return query
    for key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        previous = query.get(key)
        if previous is None:
            query[key] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            query[key] = [previous, value]
    return query


def decode_body(body: bytes, content_type: str) -> tuple[Any, bool]:
    """Return the event's body and isBase64Encoded for a request body."""
    if not body:
        return None, False
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            return orjson.loads(body), False
        except orjson.JSONDecodeError as error:
            raise InvalidRequestBody(
                f"the request body is not valid JSON ({error}) although Content-Type is "
                f"{media_type}; send valid JSON or another Content-Type"
            ) from error
    if not media_type.startswith(_BINARY_TYPES):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def build_event(
    *,
    method: str,
    path: str,
    raw_query: bytes,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    request_id: str,
    source_ip: str,
) -> bytes:
    header_map: dict[str, str] = {}
    for name, value in headers:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        header_map[key] = f"{header_map[key]},{text}" if key in header_map else text
    event_body, is_base64 = decode_body(body, header_map.get("content-type", ""))
    event = {
        "method": method,
        "path": path,
        "query": parse_query(raw_query),
        "headers": header_map,
        "body": event_body,
        "isBase64Encoded": is_base64,
        "requestContext": {"requestId": request_id, "sourceIp": source_ip},
    }
    return orjson.dumps(event)


def build_response(result: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Map a handler's JSON return value to (status, headers, body)."""
    if b'"statusCode"' not in result:
        # No object with a statusCode key anywhere: the value is the body as it is.
        return 200, [(b"content-type", b"application/json")], result
    value = orjson.loads(result)
    if isinstance(value, dict) and _is_status(value.get("statusCode")):
        status = int(value["statusCode"])
        headers: list[tuple[bytes, bytes]] = []
        has_type = False
        raw_headers = value.get("headers")
        if isinstance(raw_headers, dict):
            for name, item in raw_headers.items():
                key = str(name)
                if key.lower() in _HOP_BY_HOP or not _valid_header(key):
                    continue
                values = item if isinstance(item, list) else [item]
                for single in values:
                    text = _header_text(single)
                    if not _valid_value(text):
                        continue
                    headers.append((key.lower().encode("latin-1"), text.encode("latin-1", "replace")))
                has_type = has_type or key.lower() == "content-type"
        cookies = value.get("cookies")
        if isinstance(cookies, list):
            for cookie in cookies:
                if isinstance(cookie, str) and _valid_value(cookie):
                    headers.append((b"set-cookie", cookie.encode("latin-1", "replace")))
        raw_body = value.get("body")
        if raw_body is None:
            body = b""
        elif isinstance(raw_body, str):
            if value.get("isBase64Encoded") is True:
                try:
                    body = base64.b64decode(raw_body, validate=True)
                except (binascii.Error, ValueError):
                    body = raw_body.encode()
            else:
                body = raw_body.encode()
        else:
            body = orjson.dumps(raw_body)
        if not has_type and body:
            headers.append((b"content-type", b"application/json"))
        return status, headers, body
    return 200, [(b"content-type", b"application/json")], result


def _header_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def _is_status(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599


def _valid_header(name: str) -> bool:
    return bool(name) and all(33 <= ord(c) <= 126 and c not in '()<>@,;:\\"/[]?={}' for c in name)


def _valid_value(value: str) -> bool:
    return "\r" not in value and "\n" not in value and "\x00" not in value
