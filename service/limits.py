"""Refuse a request whose declared body is too large before any of it is read or spooled."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

FORM_OVERHEAD_BYTES = 1024 * 1024
"""Room for the form fields and multipart framing around the uploads themselves."""
UPLOADS_PER_REQUEST = 2
"""The most files one request carries: a clip's speech and its partner audio."""


def request_limit_bytes(max_upload_bytes: int) -> int:
    return UPLOADS_PER_REQUEST * max_upload_bytes + FORM_OVERHEAD_BYTES


class BodySizeLimit:
    """ASGI middleware: 413 for a ``Content-Length`` above ``max_bytes``, without reading the body.

    Each upload is still checked against its own limit where it is read (``deps.read_upload``);
    this stops a huge request from filling memory or the disk first.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes {max_bytes!r} must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = _content_length(scope)
            if declared is not None and declared > self.max_bytes:
                await _too_large(send, declared, self.max_bytes)
                return
        await self.app(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, declared: int, limit: int) -> None:
    detail = (
        f"the request body is {declared / 2**20:.1f} MB; at most {limit / 2**20:g} MB is accepted"
        " (VISAVIS_MAX_UPLOAD_MB per file)"
    )
    body = json.dumps({"detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]  # fmt: skip
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
