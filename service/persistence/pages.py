"""Keyset pagination, newest first: a page is the rows after a ``(created, id)`` position, so a
page stays right while rows are added or deleted (no offsets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Column, Select, and_, or_

T = TypeVar("T")

After = tuple[float, str]
"""The ``(created, id)`` of the last row of the previous page."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    after: After | None
    """Where the next page starts; None on the last page."""


def newest_first(
    query: Select, created: Column, ident: Column, *, limit: int, after: After | None  # type: ignore[type-arg]
) -> Select:  # type: ignore[type-arg]
    """``query`` ordered newest first, from ``after`` on, one row more than ``limit`` (to know
    whether a next page exists)."""
    if limit < 1:
        raise ValueError(f"limit {limit!r} must be >= 1")
    if after is not None:
        at, at_id = after
        query = query.where(or_(created < at, and_(created == at, ident < at_id)))
    return query.order_by(created.desc(), ident.desc()).limit(limit + 1)


def page_of(rows: Sequence[T], limit: int, position: Callable[[T], After]) -> Page[T]:
    """The first ``limit`` of ``rows`` (fetched with ``newest_first``) and the next position."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, position(items[-1]) if more and items else None)
