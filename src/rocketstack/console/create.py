"""The Create function form. Fields are checked by the same validation as the API, one
field at a time, so each message appears beside the field it concerns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rocketstack.api.body import limit_body
from rocketstack.console.session import check_csrf
from rocketstack.context import request_id_var
from rocketstack.deploy import validation
from rocketstack.deploy.archive import MAX_UPLOAD_BYTES
from rocketstack.deploy.validation import FunctionConfig, parse_form_fields
from rocketstack.errors import Conflict, InvalidParameter, PayloadTooLarge, RocketstackError
from rocketstack.runtime.runtimes import SUPPORTED

if TYPE_CHECKING:
    from rocketstack.console.app import Console

# Room for the text fields, the env rows and the multipart boundaries around the ZIP.
FORM_OVERHEAD = 1024 * 1024
MAX_FORM_FIELDS = 500
# Empty env rows shown under the filled ones, for browsers without scripts.
BLANK_ENV_ROWS = 1

RULES = {
    "name": "1–64 characters. Start with a letter; use only letters, numbers, hyphens "
    "and underscores.",
    "runtime": "Must match your code: Node.js 20 or Python 3.12.",
    "handler": "fileName.exportedFunction: index.handler for Node.js (index.js exports "
    "handler), handler.handler for Python (handler.py defines handler).",
    "code": "A ZIP with the entry file at its root, not inside a folder. At most "
    f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
    "memoryMb": f"{validation.MEMORY_RANGE[0]}–{validation.MEMORY_RANGE[1]} MB. Default "
    f"{validation.DEFAULT_MEMORY_MB}.",
    "timeoutSeconds": f"{validation.TIMEOUT_RANGE[0]}–{validation.TIMEOUT_RANGE[1]} seconds. "
    f"Default {validation.DEFAULT_TIMEOUT_SECONDS}.",
    "env": "Names start with a letter or underscore and use letters, numbers and "
    f"underscores; {', '.join(p + '*' for p in validation.RESERVED_ENV_PREFIXES)} are "
    f"reserved. {validation.MAX_ENV_BYTES} bytes in all.",
    "reservedConcurrency": "0 = paused, 1–100 = cap on concurrent invocations, empty = "
    "unreserved.",
    "description": "At most 256 characters.",
    "isPublic": "Anyone can call a public function at its public URL without an API key.",
    "publicMethod": "The one HTTP method the public URL accepts; others get 405.",
}


@dataclass
class CreateForm:
    """The submitted values, kept to fill the form again, and the errors per field."""

    values: dict[str, str] = field(default_factory=dict)
    env_rows: list[tuple[str, str]] = field(default_factory=list)
    is_public: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    def display_rows(self) -> list[tuple[str, str]]:
        return [*self.env_rows, *[("", "")] * BLANK_ENV_ROWS]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def field_of(message: str) -> str:
    """Return the field a validation message names; messages start with the field name."""
    first = message.split(" ", 1)[0]
    return first if first in validation.TEXT_FIELDS else "form"


def read_form(form: FormData) -> CreateForm:
    result = CreateForm()
    for name in ("name", "runtime", "handler", "memoryMb", "timeoutSeconds",
                 "reservedConcurrency", "description", "publicMethod"):
        result.values[name] = _text(form, name)
    result.is_public = _text(form, "isPublic") in ("true", "on")
    keys = [v for v in form.getlist("envKey") if isinstance(v, str)]
    values = [v for v in form.getlist("envValue") if isinstance(v, str)]
    for index, key in enumerate(keys):
        value = values[index] if index < len(values) else ""
        if key.strip() or value:
            result.env_rows.append((key.strip(), value))
    return result


def env_of(form: CreateForm) -> tuple[dict[str, str], str | None]:
    """Return the env rows as a mapping, and an error when a key is given twice."""
    env: dict[str, str] = {}
    for key, value in form.env_rows:
        if key in env:
            return env, f"env key {key!r} is given twice; keep one row for it"
        env[key] = value
    return env, None


def field_errors(fields: dict[str, str], *, runtime: str | None, required: bool) -> dict[str, str]:
    """Return the API's message for each invalid field, checking one field at a time."""
    errors: dict[str, str] = {}
    if required:
        for name in validation.REQUIRED_FIELDS:
            if not fields.get(name, "").strip():
                # The API's own message, raised for the one field left out.
                others = {other: "-" for other in validation.REQUIRED_FIELDS if other != name}
                try:
                    parse_form_fields(others, require=True)
                except InvalidParameter as error:
                    errors[name] = error.message
    for name, value in fields.items():
        if name in errors or (required and name in validation.REQUIRED_FIELDS and not value.strip()):
            continue
        try:
            parse_form_fields({name: value}, require=False, runtime_hint=runtime or None)
        except InvalidParameter as error:
            errors[name] = error.message
    return errors


def validate(form: CreateForm) -> FunctionConfig | None:
    """Fill `form.errors` with the API's message for each invalid field; return the
    configuration when every field is valid."""
    fields: dict[str, str] = {
        name: value
        for name, value in form.values.items()
        if value.strip() or name in validation.REQUIRED_FIELDS
    }
    fields.pop("publicMethod", None)
    fields["isPublic"] = "true" if form.is_public else "false"
    if form.is_public:
        fields["publicMethod"] = form.values.get("publicMethod") or "POST"
    env, env_error = env_of(form)
    fields["env"] = orjson.dumps(env).decode()

    form.errors.update(field_errors(fields, runtime=fields.get("runtime", "").strip(), required=True))
    if env_error:
        form.errors["env"] = env_error
    if form.errors:
        return None
    try:
        return parse_form_fields(fields, require=True)
    except InvalidParameter as error:
        form.errors[field_of(error.message)] = error.message
        return None


def routes(console: Console) -> list[Route]:
    platform = console.platform

    def page(request: Request, form: CreateForm, status: int = 200) -> Response:
        tenant = console.tenant(request)
        return console.render(
            request,
            "create.html",
            {
                "tenant": tenant,
                "nav": "functions",
                "form": form,
                "rules": RULES,
                "runtimes": SUPPORTED,
                "methods": validation.PUBLIC_METHODS,
                "max_upload_bytes": MAX_UPLOAD_BYTES,
            },
            status=status,
        )

    async def new(request: Request) -> Response:
        defaults = CreateForm(
            values={
                "runtime": SUPPORTED[0],
                "memoryMb": str(validation.DEFAULT_MEMORY_MB),
                "timeoutSeconds": str(validation.DEFAULT_TIMEOUT_SECONDS),
                "publicMethod": "POST",
            }
        )
        return page(request, defaults)

    async def submit(request: Request) -> Response:
        tenant = console.tenant(request)
        limit_body(request, MAX_UPLOAD_BYTES + FORM_OVERHEAD, "the form with the ZIP")
        try:
            raw = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
        except PayloadTooLarge as error:
            return page(request, CreateForm(errors={"code": error.message}), 413)
        except RocketstackError:
            raise
        except Exception as error:  # multipart parser errors of Starlette and python-multipart
            raise InvalidParameter(f"the form could not be read: {error}") from error
        check_csrf(request, raw)
        form = read_form(raw)
        upload = raw.get("code")
        code = upload if isinstance(upload, UploadFile) and upload.filename else None
        try:
            config = validate(form)
            if code is None:
                form.errors["code"] = "code is required; choose the ZIP file that holds your handler"
            if config is None or code is None:
                return page(request, form, 400)
            name = config.fields["name"]
            if platform.store.function_by_name(tenant.id, name) is not None:
                form.errors["name"] = (
                    f"a function named {name!r} already exists; choose another name or "
                    "update the existing function"
                )
                return page(request, form, 409)
            try:
                record = await platform.deployer.create(
                    tenant.id, config, code.file, request_id_var.get()
                )
            except Conflict as error:
                form.errors["name"] = error.message
                return page(request, form, 409)
            except PayloadTooLarge as error:
                form.errors["code"] = error.message
                return page(request, form, 413)
        finally:
            await raw.close()
        target = f"{console.base(request)}/functions?created={record.id}"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    return [
        Route("/functions/new", new, methods=["GET"]),
        Route("/functions/new", submit, methods=["POST"]),
    ]

