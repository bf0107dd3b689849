"""Routes for API keys and tenants: a tenant manages its own keys, and a key of the
default tenant can create other tenants."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from rocketstack.api.auth import Authenticator
from rocketstack.api.body import read_body
from rocketstack.api.envelope import data_response
from rocketstack.deploy.validation import validate_name
from rocketstack.errors import Conflict, Forbidden, InvalidParameter, InvalidRequestBody, NotFound
from rocketstack.platform import DEFAULT_TENANT, Platform
from rocketstack.store.api_keys import (
    ApiKeyRecord,
    count_active_keys,
    create_api_key,
    find_api_key,
    list_api_keys,
    revoke_api_key_by_id,
)

_MAX_BODY_BYTES = 64 * 1024

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid input; the message names the field and the rule"},
    401: {"description": "Missing or invalid API key"},
}


def _key_json(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "prefix": record.prefix,
        "createdAt": record.created_at,
        "revokedAt": record.revoked_at,
    }


def build_keys_router(platform: Platform, authenticator: Authenticator) -> APIRouter:
    router = APIRouter(prefix="/v1")
    store = platform.store

    @router.post("/keys", status_code=201, responses=_ERRORS)
    async def create_key(request: Request) -> Response:
        tenant = authenticator.authenticate(request)
        record, key = create_api_key(store, tenant.id)
        return data_response({**_key_json(record), "key": key}, status=201)

    @router.get("/keys", responses=_ERRORS)
    async def list_keys(request: Request) -> Response:
        tenant = authenticator.authenticate(request)
        return data_response({"items": [_key_json(r) for r in list_api_keys(store, tenant.id)]})

    @router.delete(
        "/keys/{key_id}",
        responses={
            **_ERRORS,
            404: {"description": "No key with this id or prefix in this tenant"},
            409: {"description": "The prefix matches several keys, or this is the last active key"},
        },
    )
    async def revoke_key(request: Request, key_id: str) -> Response:
        tenant = authenticator.authenticate(request)
        matches = find_api_key(store, tenant.id, key_id)
        if not matches:
            raise NotFound(f"API key {key_id!r} was not found; list your keys with GET /v1/keys")
        if len(matches) > 1:
            raise Conflict(
                f"prefix {key_id!r} matches {len(matches)} keys; revoke by id (key_...) instead"
            )
        record = matches[0]
        if record.revoked_at is not None:
            return data_response(_key_json(record))
        if count_active_keys(store, tenant.id) <= 1:
            raise Conflict(
                f"API key {record.id} is the tenant's last active key; create another key "
                "first, so the tenant is not locked out"
            )
        revoked_at = revoke_api_key_by_id(store, tenant.id, record.id)
        authenticator.forget_cached_keys()
        return data_response(
            _key_json(ApiKeyRecord(record.id, record.prefix, record.created_at, revoked_at))
        )

    @router.post(
        "/tenants",
        status_code=201,
        responses={
            **_ERRORS,
            403: {"description": "Only a key of the default tenant may create tenants"},
            409: {"description": "Name taken"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {
                                    "type": "string",
                                    "pattern": "^[A-Za-z][A-Za-z0-9_-]{0,63}$",
                                }
                            },
                        }
                    }
                },
            }
        },
    )
    async def create_tenant(request: Request) -> Response:
        caller = authenticator.authenticate(request)
        if caller.name != DEFAULT_TENANT:
            raise Forbidden(
                f"only a key of the {DEFAULT_TENANT!r} tenant may create tenants; use that key"
            )
        body = await read_body(request, _MAX_BODY_BYTES, "the request body")
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise InvalidRequestBody(
                f'the request body is not valid JSON ({error}); send {{"name": "acme"}}'
            ) from error
        name = payload.get("name") if isinstance(payload, dict) else None
        if not isinstance(name, str):
            raise InvalidParameter('name is required as a string; send {"name": "acme"}')
        validate_name(name)
        tenant, key = store.create_tenant(name)
        settings = platform.settings
        return data_response(
            {
                "id": tenant.id,
                "name": tenant.name,
                "publicToken": tenant.public_token,
                "publicBaseUrl": f"{settings.public_base_url}/{tenant.public_token}",
                "apiKey": key,
                "createdAt": tenant.created_at,
            },
            status=201,
        )

    return router
