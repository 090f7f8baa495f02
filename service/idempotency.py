"""``Idempotency-Key`` on the POSTs that create (ASGI middleware): a repeat of a request with the
same key and the same body gets the first answer again (``Idempotent-Replayed: true``), nothing is
created twice; the same key with another body is 409; a repeat while the first is still being
answered is 409 with Retry-After.

Keys are per API key and kept ``RETENTION_S``. The body is compared by its meaning, not its
bytes: JSON canonically, multipart by its fields and the SHA-256 of its files (a client draws a
new boundary each time), anything else byte for byte. Answers worth repeating are stored: 2xx and
4xx other than 409/429 (those, and 5xx, may go otherwise next time: the key is released).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import Headers, UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import raw_headers, send_error
from service.strict import strict_loads

log = logging.getLogger(__name__)

HEADER = "idempotency-key"
CREATE_PATHS = frozenset({"/v1/characters", "/v1/clips", "/v1/sessions", "/v1/keys",
                          "/v1/livekit/dispatch", "/v1/webhooks"})  # fmt: skip
"""The POSTs that create a resource."""
MAX_KEY_LENGTH = 255
RETENTION_S = 24 * 3600.0
IN_FLIGHT_RETRY_S = 1
NOT_STORED = frozenset({409, 429})

PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "any unique string (e.g. a UUID): a repeat with the same key and body returns "
    "the first answer instead of creating again; with another body it is 409. Kept 24 h.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
}
"""The OpenAPI parameter of the create POSTs."""


def _valid(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


async def _read_all(receive: Receive) -> bytes:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionError("the client went away while sending")
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return bytes(body)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def fingerprint(scope: Scope, body: bytes) -> str:
    """SHA-256 of what the request means: its path and its body's content."""
    digest = hashlib.sha256(f"{scope['method']} {scope['path']}\n".encode())
    kind = Headers(scope=scope).get("content-type", "").split(";")[0].strip().lower()
    canonical: Any = None
    if kind == "application/json" or kind.endswith("+json"):
        try:
            canonical = ["json", strict_loads(body)]
        except ValueError:
            canonical = None
    elif kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
        try:
            form = await Request({**scope, "type": "http"}, _replay(body)).form()
        except Exception:  # unparseable: compared byte for byte; the route answers it
            form = None
        if form is not None:
            fields: list[list[Any]] = []
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    fields.append([name, "file", value.filename, hashlib.sha256(data).hexdigest()])
                else:
                    fields.append([name, value])
            await form.close()
            canonical = ["form", sorted(fields, key=json.dumps)]
    if canonical is None:
        digest.update(b"raw\n" + body)
    else:
        digest.update(json.dumps(canonical, sort_keys=True).encode())
    return digest.hexdigest()


class Idempotency:
    """Runs inside the key gate (it needs the principal) and the body limit (it buffers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = Headers(scope=scope).get(HEADER) if scope["type"] == "http" else None
        principal = scope.get("state", {}).get("principal")
        if key is None or scope["method"] != "POST" or scope["path"] not in CREATE_PATHS \
                or principal is None:  # fmt: skip
            await self.app(scope, receive, send)
            return
        if not _valid(key):
            await send_error(send, 422, f"header Idempotency-Key: 1..{MAX_KEY_LENGTH} printable "
                             "ASCII characters, e.g. a UUID", {})  # fmt: skip
            return
        db = scope["app"].state.db
        body = await _read_all(receive)
        mark = await fingerprint(scope, body)
        stored = await run_in_threadpool(db.idempotency.claim, principal.key_id, key, mark)
        if stored is not None:
            await self._repeat(send, stored, mark)
            return
        await self._first(scope, body, send, db, principal.key_id, key)

    async def _repeat(self, send: Send, stored: Any, mark: str) -> None:
        if stored.fingerprint != mark:
            await send_error(send, 409, "this Idempotency-Key was used with another request "
                             "body; use a new key for a new request", {})  # fmt: skip
            return
        if stored.status is None:
            await send_error(send, 409, "a request with this Idempotency-Key is still being "
                             "answered; retry shortly", {"Retry-After": str(IN_FLIGHT_RETRY_S)})  # fmt: skip
            return
        headers = {"Content-Type": stored.content_type or "application/json",
                   "Content-Length": str(len(stored.body or b"")), "Idempotent-Replayed": "true"}  # fmt: skip
        if stored.location:
            headers["Location"] = stored.location
        await send({"type": "http.response.start", "status": stored.status,
                    "headers": raw_headers(headers.items())})  # fmt: skip
        await send({"type": "http.response.body", "body": stored.body or b""})

    async def _first(self, scope: Scope, body: bytes, send: Send, db: Any, key_id: str,
                     key: str) -> None:  # fmt: skip
        answer: dict[str, Any] = {"body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                answer.update(status=message["status"], type=headers.get("content-type"),
                              location=headers.get("location"))  # fmt: skip
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _replay(body), capture)
        except BaseException:
            await run_in_threadpool(db.idempotency.release, key_id, key)
            raise
        status = answer.get("status", 500)
        if status >= 500 or status in NOT_STORED:
            await run_in_threadpool(db.idempotency.release, key_id, key)
            return
        await run_in_threadpool(
            lambda: db.idempotency.complete(
                key_id, key, status=status, content_type=answer.get("type"),
                location=answer.get("location"), body=bytes(answer["body"]),
            )
        )
