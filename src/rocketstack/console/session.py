"""Console sessions: the API key kept in an HTTP-only cookie, CSRF tokens for every form,
and the sign-in and sign-out routes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from rocketstack.errors import Unauthorized
from rocketstack.store.models import Tenant

if TYPE_CHECKING:
    from rocketstack.console.app import Console

KEY_COOKIE = "rocketstack_console"
# A random value set before sign-in, so the sign-in form has a CSRF token of its own.
SIGN_IN_COOKIE = "rocketstack_console_signin"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
# Sessions last as long as the browser keeps the cookie, at most this many seconds.
SESSION_SECONDS = 12 * 3600


class SignInRequired(Exception):
    """The request has no valid session; the Console sends the browser to sign-in."""


class CsrfRejected(Exception):
    """A form arrived without the session's CSRF token."""


def api_key(request: Request) -> str | None:
    return request.cookies.get(KEY_COOKIE) or None


def csrf_token(key: str) -> str:
    """Derive the CSRF token from the API key, so only a holder of the key can compute it."""
    return hmac.new(key.encode(), b"rocketstack console csrf", hashlib.sha256).hexdigest()


def check_csrf(request: Request, form: FormData | None) -> None:
    """Raise CsrfRejected unless the form field or header carries the session's token."""
    key = api_key(request)
    sent = request.headers.get(CSRF_HEADER)
    if form is not None and not sent:
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if key is None or not sent or not hmac.compare_digest(sent, csrf_token(key)):
        raise CsrfRejected()


def safe_next(base: str, value: str | None) -> str:
    """Return `value` when it is a path inside the Console, else the function list."""
    if value and value.startswith(base + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return f"{base}/functions"


def _cookie_flags(request: Request) -> dict[str, object]:
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": request.url.scheme == "https",
        "path": request.scope.get("root_path") or "/",
    }


def sign_in_redirect(request: Request, base: str) -> Response:
    target = f"{base}/sign-in?next={quote(request.url.path + ('?' + request.url.query if request.url.query else ''))}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def routes(console: Console) -> list[Route]:
    async def sign_in_page(request: Request) -> Response:
        token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
        response = console.render(
            request,
            "sign_in.html",
            {"sign_in_token": token, "next": safe_next(console.base(request), request.query_params.get("next"))},
        )
        response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]
        return response

    async def sign_in(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        base = console.base(request)
        expected = request.cookies.get(SIGN_IN_COOKIE)
        sent = form.get(CSRF_FIELD)
        next_url = safe_next(base, str(form.get("next") or ""))
        if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
            return await _sign_in_error(
                request, "The sign-in form expired; enter your API key again.", next_url, 403
            )
        key = str(form.get("apiKey") or "").strip()
        if not key:
            return await _sign_in_error(request, "Enter your API key.", next_url, 400)
        try:
            console.authenticator.tenant_for(f"Bearer {key}")
        except Unauthorized as error:
            return await _sign_in_error(request, error.message, next_url, 401)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(KEY_COOKIE, key, max_age=SESSION_SECONDS, **_cookie_flags(request))  # type: ignore[arg-type]
        response.delete_cookie(SIGN_IN_COOKIE, path=request.scope.get("root_path") or "/")
        return response

    async def _sign_in_error(request: Request, message: str, next_url: str, status: int) -> Response:
        token = secrets.token_urlsafe(24)
        response = console.render(
            request,
            "sign_in.html",
            {"sign_in_token": token, "next": next_url, "error": message},
            status=status,
        )
        response.set_cookie(SIGN_IN_COOKIE, token, max_age=3600, **_cookie_flags(request))  # type: ignore[arg-type]
        return response

    async def sign_out(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        check_csrf(request, form)
        response = RedirectResponse(f"{console.base(request)}/sign-in?signedOut=1", status_code=303)
        response.delete_cookie(KEY_COOKIE, path=request.scope.get("root_path") or "/")
        return response

    return [
        Route("/sign-in", sign_in_page, methods=["GET"]),
        Route("/sign-in", sign_in, methods=["POST"]),
        Route("/sign-out", sign_out, methods=["POST"]),
    ]


def tenant_of(console: Console, request: Request) -> Tenant:
    key = api_key(request)
    if key is None:
        raise SignInRequired()
    try:
        return console.authenticator.tenant_for(f"Bearer {key}")
    except Unauthorized:
        raise SignInRequired() from None
