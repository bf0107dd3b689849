"""Bearer API-key authentication; resolved keys are cached briefly so the invoke path does
not query the database on every request."""

from __future__ import annotations

import time

from starlette.requests import Request

from rocketstack.errors import Unauthorized
from rocketstack.store.database import Store, hash_api_key
from rocketstack.store.models import Tenant

# A revoked key stops working within this many seconds on a running server.
CACHE_SECONDS = 5.0


class Authenticator:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, tuple[Tenant, float]] = {}

    def tenant_for(self, authorization: str | None) -> Tenant:
        if not authorization:
            raise Unauthorized(
                "missing API key; send the header 'Authorization: Bearer YOUR_API_KEY'"
            )
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise Unauthorized(
                "the Authorization header must be 'Bearer YOUR_API_KEY'"
            )
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached[1] > now:
            return cached[0]
        tenant = self.store.tenant_for_key_hash(hash_api_key(key))
        if tenant is None:
            self._cache.pop(key, None)
            raise Unauthorized("the API key is invalid or revoked; check the key you sent")
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (tenant, now + CACHE_SECONDS)
        return tenant

    def forget_cached_keys(self) -> None:
        """Drop cached keys, so a key revoked on this server stops working at once."""
        self._cache.clear()

    def authenticate(self, request: Request) -> Tenant:
        return self.tenant_for(request.headers.get("authorization"))
