"""Validation of function fields, shared by create and update; every message names the
field, the value and the rule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from rocketstack.errors import InvalidParameter
from rocketstack.runtime.runtimes import SUPPORTED

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
HANDLER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*(/[A-Za-z0-9_][A-Za-z0-9_-]*)*\.[A-Za-z_$][A-Za-z0-9_$]*$")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_ENV_PREFIXES = ("ROCKETSTACK_", "AWS_LAMBDA_", "LAMBDA_")
PUBLIC_METHODS = ("GET", "POST", "PATCH", "DELETE")
MAX_ENV_BYTES = 4096

MEMORY_RANGE = (128, 10240)
TIMEOUT_RANGE = (1, 60)
CONCURRENCY_RANGE = (0, 100)
RETRY_RANGE = (0, 5)
EVENT_AGE_RANGE = (1, 86400)
DEFAULT_MAX_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_SECONDS = 21600
DEFAULT_MEMORY_MB = 256
DEFAULT_TIMEOUT_SECONDS = 10

TEXT_FIELDS = (
    "name",
    "runtime",
    "handler",
    "memoryMb",
    "timeoutSeconds",
    "env",
    "reservedConcurrency",
    "description",
    "isPublic",
    "publicMethod",
    "maxRetryAttempts",
    "maxEventAgeSeconds",
)
REQUIRED_FIELDS = ("name", "runtime", "handler")


@dataclass
class FunctionConfig:
    """Validated configuration fields; a field left out of an update is absent from `fields`."""

    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def validate_name(value: str) -> str:
    if not NAME_RE.match(value):
        raise InvalidParameter(
            f"name {value!r} is invalid: use 1-64 characters, start with a letter, and use only "
            "letters, numbers, hyphens and underscores"
        )
    return value


def validate_runtime(value: str) -> str:
    if value not in SUPPORTED:
        raise InvalidParameter(
            f"runtime {value!r} is not supported; use one of: {', '.join(SUPPORTED)}"
        )
    return value


def validate_handler(value: str, runtime: str | None) -> str:
    example = "handler.handler" if runtime == "python3.12" else "index.handler"
    if len(value) > 128 or not HANDLER_RE.match(value):
        raise InvalidParameter(
            f"handler {value!r} is invalid: use fileName.exportedFunction, e.g. {example!r} "
            "(the file name without extension, a dot, then the function name)"
        )
    if runtime == "python3.12" and not value.rpartition(".")[2].isidentifier():
        raise InvalidParameter(
            f"handler {value!r} is invalid: {value.rpartition('.')[2]!r} is not a Python "
            "function name"
        )
    return value


def _integer(name: str, value: str, low: int, high: int) -> int:
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise InvalidParameter(f"{name} {value!r} is not a whole number; use a number from {low} to {high}")
    number = int(text)
    if not low <= number <= high:
        raise InvalidParameter(f"{name} {number} is out of range; use a number from {low} to {high}")
    return number


def validate_env(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        if value.strip() == "":
            return {}
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as error:
            raise InvalidParameter(
                f"env {_clip(value)!r} is not valid JSON; pass a JSON object such as "
                '{"KEY":"value"}'
            ) from error
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameter(
            f"env must be a JSON object of strings such as {{\"KEY\":\"value\"}}, not a "
            f"{type(value).__name__}"
        )
    for key, item in value.items():
        if not ENV_KEY_RE.match(key):
            raise InvalidParameter(
                f"env key {key!r} is invalid: start with a letter or underscore and use only "
                "letters, numbers and underscores"
            )
        if key.startswith(RESERVED_ENV_PREFIXES):
            raise InvalidParameter(
                f"env key {key!r} is reserved: names starting with "
                f"{', '.join(RESERVED_ENV_PREFIXES)} are set by the platform; rename it"
            )
        if not isinstance(item, str):
            raise InvalidParameter(
                f"env value of {key!r} must be a string, not {orjson.dumps(item).decode()}; "
                "quote it"
            )
    size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
    if size > MAX_ENV_BYTES:
        raise InvalidParameter(
            f"env is {size} bytes; the keys and values together may take at most {MAX_ENV_BYTES} bytes"
        )
    return dict(value)


def validate_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0", ""):
        return False
    raise InvalidParameter(f"{name} {value!r} is invalid; use \"true\" or \"false\"")


def validate_public_method(value: str) -> str:
    method = value.strip().upper()
    if method not in PUBLIC_METHODS:
        raise InvalidParameter(
            f"publicMethod {value!r} is not supported; use one of: {', '.join(PUBLIC_METHODS)}"
        )
    return method


def validate_description(value: str) -> str:
    if len(value) > 256:
        raise InvalidParameter(f"description is {len(value)} characters; use at most 256")
    return value


def validate_reserved_concurrency(value: str | None) -> int | None:
    if value is None or value.strip().lower() in ("", "null", "none"):
        return None
    return _integer("reservedConcurrency", value, *CONCURRENCY_RANGE)


def parse_form_fields(
    form: Mapping[str, str], *, require: bool, runtime_hint: str | None = None
) -> FunctionConfig:
    """Validate text form fields of a create (`require=True`) or an update."""
    config = FunctionConfig()
    if require:
        for name in REQUIRED_FIELDS:
            if not form.get(name, "").strip():
                raise InvalidParameter(f"{name} is required; add the form field {name!r}")
    values = config.fields
    if "name" in form:
        values["name"] = validate_name(form["name"].strip())
    if "runtime" in form:
        values["runtime"] = validate_runtime(form["runtime"].strip())
    runtime = values.get("runtime", runtime_hint)
    if "handler" in form:
        values["handler"] = validate_handler(form["handler"].strip(), runtime)
    if "memoryMb" in form:
        values["memoryMb"] = _integer("memoryMb", form["memoryMb"], *MEMORY_RANGE)
    if "timeoutSeconds" in form:
        values["timeoutSeconds"] = _integer("timeoutSeconds", form["timeoutSeconds"], *TIMEOUT_RANGE)
    if "env" in form:
        values["env"] = validate_env(form["env"])
    if "reservedConcurrency" in form:
        values["reservedConcurrency"] = validate_reserved_concurrency(form["reservedConcurrency"])
    if "description" in form:
        values["description"] = validate_description(form["description"])
    if "isPublic" in form:
        values["isPublic"] = validate_bool("isPublic", form["isPublic"])
    if "publicMethod" in form and form["publicMethod"].strip():
        values["publicMethod"] = validate_public_method(form["publicMethod"])
    if "maxRetryAttempts" in form:
        values["maxRetryAttempts"] = _integer("maxRetryAttempts", form["maxRetryAttempts"], *RETRY_RANGE)
    if "maxEventAgeSeconds" in form:
        values["maxEventAgeSeconds"] = _integer(
            "maxEventAgeSeconds", form["maxEventAgeSeconds"], *EVENT_AGE_RANGE
        )
    if require:
        values.setdefault("memoryMb", DEFAULT_MEMORY_MB)
        values.setdefault("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
        values.setdefault("env", {})
        values.setdefault("reservedConcurrency", None)
        values.setdefault("description", "")
        values.setdefault("isPublic", False)
        values.setdefault("maxRetryAttempts", DEFAULT_MAX_RETRY_ATTEMPTS)
        values.setdefault("maxEventAgeSeconds", DEFAULT_MAX_EVENT_AGE_SECONDS)
        if values["isPublic"]:
            values.setdefault("publicMethod", "POST")
    return config


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
