"""The Configuration tab: the edit form and deletion. Changed fields and an optional new
ZIP go to the same update pipeline as PATCH /v1/functions/{id}, so the current version
keeps serving until the new one is ready."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rocketstack.api.body import limit_body
from rocketstack.console.create import (
    FORM_OVERHEAD,
    MAX_FORM_FIELDS,
    RULES,
    CreateForm,
    env_of,
    field_errors,
    field_of,
    read_form,
)
from rocketstack.console.functions import function_context
from rocketstack.console.session import check_csrf
from rocketstack.context import request_id_var
from rocketstack.deploy import validation
from rocketstack.deploy.archive import MAX_UPLOAD_BYTES
from rocketstack.deploy.validation import parse_form_fields
from rocketstack.errors import (
    Conflict,
    FunctionNotReady,
    InvalidParameter,
    PayloadTooLarge,
    RocketstackError,
)
from rocketstack.runtime.runtimes import SUPPORTED
from rocketstack.store.models import FunctionRecord

if TYPE_CHECKING:
    from rocketstack.console.app import Console


def form_of(record: FunctionRecord) -> CreateForm:
    """Return the edit form filled with the function's current configuration."""
    return CreateForm(
        values={
            "name": record.name,
            "runtime": record.runtime,
            "handler": record.handler,
            "memoryMb": str(record.memory_mb),
            "timeoutSeconds": str(record.timeout_seconds),
            "reservedConcurrency": ""
            if record.reserved_concurrency is None
            else str(record.reserved_concurrency),
            "description": record.description,
            "publicMethod": record.public_method or "POST",
        },
        env_rows=sorted(record.env.items()),
        is_public=record.is_public,
    )


def changed_fields(form: CreateForm, record: FunctionRecord) -> dict[str, str]:
    """Return the form fields whose values differ from the function's, as API form text."""
    current = form_of(record)
    changes: dict[str, str] = {}
    for name in ("name", "runtime", "handler", "memoryMb", "timeoutSeconds",
                 "reservedConcurrency", "description"):
        value = form.values.get(name, "")
        if value.strip() != current.values.get(name, "").strip():
            changes[name] = value
    env, _ = env_of(form)
    if env != record.env:
        changes["env"] = orjson.dumps(env).decode()
    if form.is_public != record.is_public:
        changes["isPublic"] = "true" if form.is_public else "false"
    method = form.values.get("publicMethod") or "POST"
    if form.is_public and (method != record.public_method or not record.is_public):
        changes["publicMethod"] = method
    return changes


def routes(console: Console) -> list[Route]:
    platform = console.platform

    def page(
        request: Request,
        context: dict[str, Any],
        form: CreateForm | None = None,
        status: int = 200,
        **extra: Any,
    ) -> Response:
        record: FunctionRecord = context["function"]
        return console.render(
            request,
            "tab_configuration.html",
            {
                **context,
                "tab": "configuration",
                "can_edit": getattr(platform, "updater", None) is not None,
                "editing": True,
                "form": form or form_of(record),
                "rules": RULES,
                "runtimes": SUPPORTED,
                "methods": validation.PUBLIC_METHODS,
                "updated": request.query_params.get("updated"),
                **extra,
            },
            status=status,
        )

    async def show(request: Request) -> Response:
        return page(request, function_context(console, request, request.path_params["function_id"]))

    async def save(request: Request) -> Response:
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        updater = getattr(platform, "updater", None)
        if updater is None:
            raise InvalidParameter("this server cannot update functions; delete and create it again")
        limit_body(request, MAX_UPLOAD_BYTES + FORM_OVERHEAD, "the form with the ZIP")
        try:
            raw = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
        except PayloadTooLarge as error:
            return page(request, context, CreateForm(errors={"code": error.message}), 413)
        except RocketstackError:
            raise
        except Exception as error:  # multipart parser errors of Starlette and python-multipart
            raise InvalidParameter(f"the form could not be read: {error}") from error
        check_csrf(request, raw)
        form = read_form(raw)
        upload = raw.get("code")
        code = upload if isinstance(upload, UploadFile) and upload.filename else None

        try:
            fields = changed_fields(form, record)
            _, env_error = env_of(form)
            form.errors.update(
                field_errors(fields, runtime=fields.get("runtime") or record.runtime, required=False)
            )
            if env_error:
                form.errors["env"] = env_error
            if not fields and code is None and not form.errors:
                form.errors["form"] = "nothing changed; edit a field or choose a new ZIP"
            if form.errors:
                return page(request, context, form, 400)

            try:
                config = parse_form_fields(fields, require=False, runtime_hint=record.runtime)
                await updater.update(record, config, code.file if code else None, request_id_var.get())
            except (InvalidParameter, FunctionNotReady) as error:
                form.errors[field_of(error.message)] = error.message
                return page(request, context, form, error.status)
            except Conflict as error:
                form.errors["name" if "named" in error.message else "form"] = error.message
                return page(request, context, form, 409)
            except PayloadTooLarge as error:
                form.errors["code"] = error.message
                return page(request, context, form, 413)
        finally:
            await raw.close()

        target = f"{console.base(request)}/functions/{record.id}/configuration?updated=1"
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def delete(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        check_csrf(request, form)
        context = function_context(console, request, request.path_params["function_id"])
        record: FunctionRecord = context["function"]
        confirm = str(form.get("confirm") or "").strip()
        if confirm != record.name:
            message = (
                f"type the function name {record.name!r} to confirm"
                if not confirm
                else f"{confirm!r} is not the function name; type {record.name!r} to confirm"
            )
            return page(request, context, status=400, delete_error=message, delete_open=True)
        await platform.functions.delete(record)
        return RedirectResponse(
            f"{console.base(request)}/functions?deleted={record.name}", status_code=303
        )

    return [
        Route("/functions/{function_id}/configuration", show, methods=["GET"]),
        Route("/functions/{function_id}/configuration", save, methods=["POST"]),
        Route("/functions/{function_id}/delete", delete, methods=["POST"]),
    ]
