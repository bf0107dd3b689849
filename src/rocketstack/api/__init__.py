"""The control-plane HTTP API under /v1: routes, API-key auth and the response envelope."""
