"""The size limit of a request body, held whether the body declares its length or arrives
chunked: a declared ``Content-Length`` above the limit is refused before any byte is read, and
every body is counted as the app reads it, refused (413) the moment the count passes the limit.

This runs after the key gate (``service.gate``), so nothing of a body is read before the key is.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import ApiError, send_error

FORM_OVERHEAD_BYTES = 1024 * 1024
"""Room for the form fields and multipart framing around the uploads themselves."""
UPLOADS_PER_REQUEST = 2
"""The most files one request carries: a clip's speech and its partner audio."""

BODY_BYTES = Counter(
    "visavis_http_request_body_bytes_total", "Request body bytes the service has read"
)
TOO_LARGE = Counter("visavis_http_bodies_refused_total", "Request bodies refused as too large")


def request_limit_bytes(max_upload_bytes: int) -> int:
    return UPLOADS_PER_REQUEST * max_upload_bytes + FORM_OVERHEAD_BYTES


class BodyTooLarge(ApiError):
    def __init__(self, limit: int, declared: int | None = None) -> None:
        size = f"is {declared / 2**20:.1f} MB" if declared is not None else "goes on past the limit"
        super().__init__(
            413,
            f"the request body {size}; at most {limit / 2**20:g} MB is accepted "
            "(VISAVIS_MAX_UPLOAD_MB per file)",
            headers={"Connection": "close"},  # the rest of the body is never read
        )


class BodySizeLimit:
    """ASGI middleware: 413 once a body passes ``max_bytes``, declared or counted.

    Each upload is still checked against its own limit where it is read (``deps.read_upload``);
    this stops a huge request from filling memory or the disk first.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes {max_bytes!r} must be positive")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            TOO_LARGE.inc()
            exc = BodyTooLarge(self.max_bytes, declared)
            await send_error(send, 413, str(exc.detail), {})
            return
        started = False
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                chunk = len(message.get("body", b""))
                received += chunk
                BODY_BYTES.inc(chunk)
                if received > self.max_bytes:
                    TOO_LARGE.inc()
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:  # raised in a reader that did not turn it into a response
            if started:
                raise
            await send_error(send, 413, str(exc.detail), {})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
