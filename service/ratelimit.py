"""Requests per key: a token bucket per key id, in this process (each API process keeps its own,
so N processes let a key through at up to N times the rate)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_TRACKED_KEYS = 10_000
"""Buckets of the least recently seen keys beyond this are forgotten (they were full anyway)."""


class RateLimiter:
    """``take(key)`` spends one request; None when allowed, else the seconds until one is."""

    def __init__(
        self, *, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not (per_second > 0 and math.isfinite(per_second)):
            raise ValueError(f"per_second {per_second!r} must be a positive number")
        if burst < 1:
            raise ValueError(f"burst {burst!r} must be >= 1")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at

    def take(self, key: str) -> float | None:
        now = self._clock()
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        wait = None if tokens >= 1.0 else (1.0 - tokens) / self.per_second
        self._buckets[key] = (tokens - 1.0 if wait is None else tokens, now)
        while len(self._buckets) > MAX_TRACKED_KEYS:
            self._buckets.popitem(last=False)
        return wait
