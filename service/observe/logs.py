"""Logs: one configuration for every visavis process, as text or as one JSON object per line
(``VISAVIS_LOG_FORMAT=json``), each record carrying the request id it belongs to.

A request id comes in with a request (``X-Request-ID``; a new one when absent or malformed), is
returned in the response's ``X-Request-ID``, and follows the work the request started: it is
stored with a clip job, and the process that renders the job logs under it. Messages say what
happened and name ids, never keys or user content (texts, audio, pictures).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = contextvars.ContextVar[str | None]("visavis_request_id", default=None)
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STANDARD_ATTRIBUTES = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s%(request_suffix)s"


def new_request_id() -> str:
    return "req_" + secrets.token_hex(8)


def accepted_request_id(value: str | None) -> str:
    """``value`` when it is a plausible id (1-64 of letters, digits, ``._:-``), else a new one:
    a client's id is echoed in logs and headers, so nothing else gets through."""
    return value if value and _ACCEPTED_ID.match(value) else new_request_id()


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


@contextlib.contextmanager
def request_context(request_id: str | None) -> Iterator[None]:
    """Log under ``request_id`` inside the block (a request, or a job it started)."""
    token = _REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        _REQUEST_ID.reset(token)


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        request_id = getattr(record, "request_id", None) or _REQUEST_ID.get()
        record.request_id = request_id
        record.request_suffix = f" request_id={request_id}" if request_id else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request_id, process, and any
    ``extra`` fields a library attached (procrastinate and livekit-agents do)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id  # type: ignore[attr-defined]
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRIBUTES and name != "request_suffix":
                entry.setdefault(name, value if _plain(value) else repr(value))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _plain(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | type(None))


def configure_logging(*, level: str = "info", fmt: str = "text") -> None:
    """Send every logger's records to stderr as ``fmt`` (``text`` or ``json``); uvicorn's own
    loggers included (run uvicorn with ``log_config=None``). Idempotent."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format {fmt!r} is not one of text, json")
    handler = logging.StreamHandler()
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_visavis", False):
            root.removeHandler(old)
    handler._visavis = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True


class RequestIdMiddleware:
    """ASGI middleware: every HTTP request and WebSocket runs under a request id, taken from
    ``X-Request-ID`` when acceptable, and HTTP responses carry it back."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or ()).get(REQUEST_ID_HEADER.lower().encode())
        request_id = accepted_request_id(given.decode("latin-1") if given else None)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                headers.append((REQUEST_ID_HEADER.lower().encode(), request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        with request_context(request_id):
            await self.app(scope, receive, send_with_id)
