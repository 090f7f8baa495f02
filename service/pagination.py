"""Cursor pagination of every list: ``?limit=`` (1..100, default 20; more is refused, never
silently capped) and ``?cursor=`` (the ``next_cursor`` of the previous page, opaque)."""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from service.errors import ApiError
from service.persistence.pages import After
from service.persistence.pages import Page as RowPage

T = TypeVar("T")
S = TypeVar("S")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    """One page of a list, newest first."""

    data: list[T]
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


def encode_cursor(after: After) -> str:
    raw = json.dumps([repr(after[0]), after[1]]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> After:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        at = float(at)
        if not (isinstance(ident, str) and math.isfinite(at)):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ApiError(422, "query cursor: not a cursor this API issued; pass the next_cursor "
                       "of the previous page, or leave it out for the first page") from None  # fmt: skip
    return at, ident


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: After | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(min_length=1, max_length=200, description="next_cursor of the previous page"),
    ] = None,
) -> PageParams:
    return PageParams(limit, decode_cursor(cursor) if cursor else None)


PageQuery = Annotated[PageParams, Depends(page_params)]


def page_out(page: RowPage[S], convert: Callable[[S], T]) -> Page[T]:
    cursor = encode_cursor(page.after) if page.after is not None else None
    return Page(data=[convert(item) for item in page.items], next_cursor=cursor)


def page_in_memory(
    items: Sequence[S], params: PageParams, position: Callable[[S], After]
) -> RowPage[S]:
    """A page of a list held in memory (newest first by ``position``)."""
    ordered = sorted(items, key=position, reverse=True)
    if params.after is not None:
        ordered = [item for item in ordered if position(item) < params.after]
    items_ = ordered[: params.limit]
    more = len(ordered) > params.limit
    return RowPage(items_, position(items_[-1]) if more and items_ else None)
