"""Access control when the app is served beyond this machine: a random token, once in the URL, then a cookie.

The app starts processes and reads server paths, so by default it binds 127.0.0.1 only and needs no token. With
``python -m app --host 0.0.0.0 --allow-remote`` a random token is printed at start (``?token=...``); the first
request carrying it gets an HTTP-only cookie, and every request without the token or the cookie gets 403. An SSH
tunnel (``ssh -L 8501:127.0.0.1:8501 server``) is the recommended way instead (docs/app.md).
"""

from __future__ import annotations

import hmac
import os

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from app.settings import TOKEN_ENV

COOKIE = "clar_studio_token"


class TokenMiddleware(BaseHTTPMiddleware):
    """Refuse (403) every request that carries neither the token (``?token=``) nor the cookie it set."""

    def __init__(self, app, token: str) -> None:
        super().__init__(app)
        self.token = token

    @classmethod
    def install(cls, fastapi_app) -> None:
        """Add the middleware when ``$CLAR_APP_TOKEN`` is set (only ``--allow-remote`` sets it)."""
        token = os.environ.get(TOKEN_ENV)
        if token:
            fastapi_app.add_middleware(cls, token=token)

    def _ok(self, value: str | None) -> bool:
        return bool(value) and hmac.compare_digest(value.encode(), self.token.encode())

    async def dispatch(self, request: Request, call_next) -> Response:
        """Pass a request with the cookie, or with the token (then set the cookie); refuse any other with 403."""
        if self._ok(request.cookies.get(COOKIE)):
            return await call_next(request)
        if self._ok(request.query_params.get("token")):
            response = await call_next(request)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
            return response
        return PlainTextResponse("403: this CLAR Studio needs its access token (?token=... printed at start)", 403)
