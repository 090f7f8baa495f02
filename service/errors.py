"""The one error shape of the API, ``{"error": {"code": ..., "message": ...}}``, for every error:
raised ``HTTPException``s, request validation, refusals by the middlewares (401, 403, 413, 429)
and unknown routes alike.

``install(app)`` registers the handlers; ``error_bytes`` serves the ASGI middlewares, which answer
before FastAPI sees the request; ``documented(...)`` lists the error responses of a route for the
OpenAPI schema.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Send

log = logging.getLogger(__name__)

CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}
"""The ``code`` of each status; a client switches on it (the message is for people)."""

DESCRIPTIONS: dict[int, str] = {
    400: "The request is malformed (e.g. a body that cannot be parsed).",
    401: "No API key, or a key that is unknown or revoked.",
    403: "The key may not do this (its scope, origins or characters).",
    404: "No such resource for this key (another key's resources look missing too).",
    409: "The resource is in a state that forbids this (closed, damaged, not finished, "
    "or an Idempotency-Key reused with another body).",
    410: "The clip's file is no longer in storage (expired or deleted).",
    413: "The body is larger than the limit (counted as it arrives, chunked or not).",
    422: "A value is not accepted; the message names it and what is accepted.",
    429: "A limit or quota is reached; retry after the Retry-After header's seconds.",
    503: "The service is starting, stopping or at capacity; retry after Retry-After.",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. not_found, invalid_request")
    message: str = Field(description="what went wrong and what is accepted, for people")


class ErrorOut(BaseModel):
    """Every error response of the API has this shape."""

    error: ErrorDetail


def code_for(status: int) -> str:
    return CODES.get(status, "client_error" if status < 500 else "server_error")


def error_content(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code or code_for(status), "message": message}}


def error_bytes(status: int, message: str, code: str | None = None) -> bytes:
    return json.dumps(error_content(status, message, code)).encode()


def error_response(
    status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_content(status, message, code), status, headers=dict(headers or {}))


def raw_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]


async def send_error(send: Send, status: int, message: str, headers: Mapping[str, str]) -> None:
    """An error answered by an ASGI middleware, before the body is read: the connection is
    closed after it, so an unread body (perhaps huge) is never received."""
    body = error_bytes(status, message)
    extra = {"Content-Type": "application/json", "Content-Length": str(len(body)),
             "Connection": "close"}  # fmt: skip
    raw = raw_headers({**headers, **extra}.items())
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class ApiError(StarletteHTTPException):
    """An HTTP error with an explicit ``code`` (``HTTPException`` gets the status's code)."""

    def __init__(
        self, status: int, message: str, *, code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(status, message, headers=dict(headers) if headers else None)
        self.code = code or code_for(status)


def _message(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    return json.dumps(detail, default=str)


def _allowed_methods(request: Request) -> str:
    """Every documented method at this path (Starlette's 405 names only the first route's: FastAPI
    makes one route per path and method); read from the app's OpenAPI paths."""
    import re

    methods: set[str] = set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            methods |= {m.upper() for m in operations}
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = getattr(exc, "code", None)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return error_response(exc.status_code, _message(exc.detail), code=code, headers=headers)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        kind, rest = parts[0], parts[1:]
        return f"{kind} {'.'.join(rest)}" if rest else kind
    return ".".join(parts) or "request"


def _problem(error: Mapping[str, Any]) -> str:
    if error.get("type") == "json_invalid":  # strict.strict_loads says what in ctx.error
        return f"body: invalid JSON: {(error.get('ctx') or {}).get('error', 'cannot be parsed')}"
    return f"{_where(error.get('loc', ()))}: {error.get('msg', 'invalid')}"


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """``<where>: <what>`` for each problem, never echoing the input (it may be NaN, a lone
    surrogate, or a secret)."""
    problems = [_problem(e) for e in errors]
    shown = "; ".join(problems[:5])
    if len(problems) > 5:
        shown += f"; and {len(problems) - 5} more"
    return shown or "invalid request"


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(422, validation_message(exc.errors()))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error method=%s route=%s", request.method,
              getattr(request.scope.get("route"), "path", "unmatched"), exc_info=exc)  # fmt: skip
    return error_response(500, "internal error; see the server log")


def install(app: FastAPI) -> None:
    """Every error the app raises answers in the one shape."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of these error statuses, all in the one shape."""
    return {
        status: {"model": ErrorOut, "description": DESCRIPTIONS.get(status, code_for(status))}
        for status in statuses
    }
