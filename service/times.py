"""Times in API responses: ISO-8601 in UTC (``2026-12-04T18:35:34.123456Z``); stored as epoch
seconds."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def utc_or_none(seconds: float | None) -> datetime | None:
    return None if seconds is None else utc(seconds)
