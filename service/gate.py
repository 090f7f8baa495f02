"""The gate every ``/v1`` HTTP request passes before the app sees it (ASGI middleware):

1. a CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here: with
   the CORS headers when some unrevoked publishable key lists the page's origin, without them
   (403) otherwise;
2. the API key is checked from the headers alone, before any body byte is read: no key or a bad
   one is refused (401, and the connection closed: the body is never read);
3. a publishable key is checked against the page's ``Origin`` (403) and its request rate (429 +
   Retry-After), and its responses carry the CORS headers of its origin.

The principal goes on the request's state for the routes (``service.auth.Caller``). WebSocket
routes authenticate with the same ``service.auth.authenticate`` themselves (they answer with
close codes, not HTTP statuses). Paths outside ``/v1`` (health, metrics, docs, demo pages) and
``PUBLIC_V1_PATHS`` need no key.
"""

from __future__ import annotations

import logging
import math

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import CHALLENGE, AuthError, OriginError, authenticate
from service.errors import raw_headers, send_error
from service.ratelimit import RateLimiter

log = logging.getLogger(__name__)

PUBLIC_V1_PATHS = frozenset({"/v1/widget.js"})
"""Paths under /v1 that need no key (the web widget's script is loaded by a <script> tag)."""
CORS_METHODS = "GET, POST, DELETE"
CORS_HEADERS = "X-API-Key, Authorization, Content-Type, Idempotency-Key"
CORS_EXPOSED = "Retry-After, Location, Idempotent-Replayed"
CORS_MAX_AGE_S = 600


def needs_key(path: str) -> bool:
    return (path == "/v1" or path.startswith("/v1/")) and path not in PUBLIC_V1_PATHS


class KeyGate:
    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        db = getattr(scope["app"].state, "db", None)
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self._preflight(db, origin, send)
            return
        if not needs_key(scope["path"]):
            await self.app(scope, receive, send)
            return
        if db is None:
            await send_error(send, 503, "service is starting or stopping", {"Retry-After": "2"})
            return
        try:
            principal = await authenticate(HTTPConnection(scope), db)
        except OriginError as exc:
            await send_error(send, 403, str(exc), {"Vary": "Origin"})
            return
        except AuthError as exc:
            cors = await self._cors_for_refusal(db, origin)
            await send_error(send, 401, str(exc), {**CHALLENGE, **cors})
            return
        cors = _cors(origin) if principal.publishable and origin else {}
        if principal.publishable:
            wait = self.limiter.take(principal.key_id)
            if wait is not None:
                retry = str(max(1, math.ceil(wait)))
                await send_error(send, 429, f"too many requests for this publishable key; at most "
                             f"{self.limiter.per_second:g} per second (bursts of "
                             f"{self.limiter.burst})", {"Retry-After": retry, **cors})  # fmt: skip
                return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, _with_headers(send, cors) if cors else send)

    async def _preflight(self, db: object, origin: str, send: Send) -> None:
        allowed = db is not None and await run_in_threadpool(db.keys.origin_allowed, origin)  # type: ignore[attr-defined]
        if not allowed:
            await send_error(send, 403, f"no publishable key may be used from the origin {origin!r}",
                         {"Vary": "Origin"})  # fmt: skip
            return
        headers = {
            **_cors(origin),
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
        }
        await send({"type": "http.response.start", "status": 204, "headers": raw_headers(headers.items())})
        await send({"type": "http.response.body", "body": b""})

    async def _cors_for_refusal(self, db: object, origin: str | None) -> dict[str, str]:
        """A page of an allowed origin may read why its key was refused (e.g. revoked)."""
        if not origin:
            return {}
        allowed = await run_in_threadpool(db.keys.origin_allowed, origin)  # type: ignore[attr-defined]
        return _cors(origin) if allowed else {"Vary": "Origin"}


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin",
            "Access-Control-Expose-Headers": CORS_EXPOSED}  # fmt: skip


def _with_headers(send: Send, extra: dict[str, str]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            present = {k.lower() for k, _ in message.get("headers", [])}
            added = [(k, v) for k, v in raw_headers(extra.items()) if k not in present]
            message = {**message, "headers": [*message.get("headers", []), *added]}
        await send(message)

    return sending
