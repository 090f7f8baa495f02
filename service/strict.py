"""Strict request bodies: JSON that standard JSON does not allow is refused with 422, never let
through to fail later (a NaN that cannot be written back out, a lone surrogate that cannot be
stored or encoded, a number that overflows to infinity).

Every router is built with ``route_class=StrictRoute``; request models derive from
``RequestModel`` (no NaN or infinity in any float) and response models from ``ResponseModel``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

MAX_DEPTH = 32
"""JSON nested deeper than this is refused (nothing the API takes is more than 3 deep)."""


class RequestModel(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)


class ResponseModel(BaseModel):
    model_config = ConfigDict(allow_inf_nan=False)


def _refuse(message: str, doc: str = "", pos: int = 0) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, doc, pos)


def _no_constant(name: str) -> Any:
    raise _refuse(f"{name} is not a JSON number; send a finite number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _refuse(f"the number {text[:40]} is too large for a 64-bit float")
    return value


def _check_strings(value: Any) -> None:
    """Every string (keys included) is valid Unicode, and nesting stays within MAX_DEPTH."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _refuse(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise _refuse("a string holds a lone surrogate (\\ud800-\\udfff); send valid "
                              "Unicode") from None  # fmt: skip
        elif isinstance(item, dict):
            stack.extend((k, depth + 1) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def strict_loads(body: bytes) -> Any:
    """``json.loads`` that refuses NaN, ±Infinity, overflowing numbers, invalid UTF-8, lone
    surrogates and deep nesting, raising ``json.JSONDecodeError`` (FastAPI answers it 422)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(f"the body is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise _refuse(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_strings(value)
    return value


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


def repeated_query(request: Request) -> str | None:
    """The first query parameter given more than once (none of ours takes a list: a client that
    repeats one means something the API would otherwise silently drop)."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            return name
        seen.add(name)
    return None


class StrictRoute(APIRoute):
    """Parses JSON bodies with ``strict_loads`` and refuses repeated query parameters."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            from service.errors import error_response

            if (name := repeated_query(request)) is not None:
                return error_response(422, f"query {name}: given more than once; give it once")
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict_handler
