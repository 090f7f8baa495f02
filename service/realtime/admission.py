"""Admission control: past this machine's capacity a new session is refused (the REST API
answers 503 with Retry-After) instead of being let in to make every session miss frames.

Two rules, both about the sessions already live here:
- a cap (``VISAVIS_MAX_SESSIONS``): the number of sessions this machine was measured to hold
  (``make bench``: ``tools.session_bench``);
- the frames they missed lately: while the live sessions missed more than
  ``missed_limit`` of their frames over the last ``window_s`` (late, or repeating a picture),
  the machine is already past what it can do (other work on it, bigger frames than the cap
  assumed), and one more session would only make all of them worse.

A session that is let in and then falls behind is not ended: its frames repeat the last picture
with their own audio (the engine), and it shows in ``missed_frames`` events.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from service.realtime import metrics
from service.realtime.frames import SessionStats

RETRY_FULL_S = 30
"""Retry-After when the cap is reached: a live session lasts minutes; a client that retries
every half minute finds the first place that frees up soon enough."""
RETRY_BEHIND_S = 10
"""Retry-After while the live sessions miss frames: often a burst of other work that passes."""


class CapacityError(RuntimeError):
    """No room for one more session now; ``retry_after_s`` says when to ask again."""

    def __init__(self, message: str, *, retry_after_s: int, reason: str) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.reason = reason  # "full" or "behind" (the metric's label)


@dataclass(frozen=True)
class _Sample:
    at: float
    frames: int
    missed: int


class Admission:
    def __init__(
        self,
        *,
        max_sessions: int,
        missed_limit: float = 0.05,
        window_s: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        """``missed_limit``: the fraction of frames missed over the last ``window_s`` past which
        no new session is let in (1.0: never refuse for it)."""
        if not (isinstance(max_sessions, int) and max_sessions >= 1):
            raise ValueError(f"max_sessions must be an integer >= 1, got {max_sessions!r}")
        if not 0.0 < missed_limit <= 1.0:
            raise ValueError(f"missed_limit must be in (0, 1], got {missed_limit}")
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s}")
        self.max_sessions = max_sessions
        self.missed_limit = missed_limit
        self.window_s = window_s
        self._now = now
        self._samples: deque[_Sample] = deque()
        self._frames = 0  # frames and missed frames of sessions that are gone, so totals only grow
        self._missed = 0

    def observe(self, stats: Iterable[SessionStats]) -> None:
        """Note the live sessions' counters (call about once a second)."""
        frames, missed = self._frames, self._missed
        for s in stats:
            frames += s.frames
            missed += s.missed_frames
        now = self._now()
        self._samples.append(_Sample(now, frames, missed))
        while len(self._samples) > 2 and self._samples[1].at <= now - self.window_s:
            self._samples.popleft()

    def retire(self, stats: SessionStats) -> None:
        """A session left: keep its counts in the totals (they must not go down)."""
        self._frames += stats.frames
        self._missed += stats.missed_frames

    def missed_lately(self) -> float:
        """Fraction of the live sessions' frames missed over about the last ``window_s``."""
        if len(self._samples) < 2:
            return 0.0
        first, last = self._samples[0], self._samples[-1]
        frames = last.frames - first.frames
        return (last.missed - first.missed) / frames if frames > 0 else 0.0

    def check(self, live: int) -> None:
        """CapacityError if one more session beside ``live`` ones does not fit now."""
        if live >= self.max_sessions:
            self._refuse(
                f"{live} sessions are live, as many as this server holds at 25 fps "
                f"(VISAVIS_MAX_SESSIONS={self.max_sessions}); try again later",
                retry_after_s=RETRY_FULL_S, reason="full",
            )  # fmt: skip
        missed = self.missed_lately()
        if live and missed > self.missed_limit:
            self._refuse(
                f"the {live} live sessions missed {100 * missed:.0f}% of their frames in the "
                f"last {self.window_s:g} s (more than {100 * self.missed_limit:g}%): this server "
                "has no room for another now; try again later",
                retry_after_s=RETRY_BEHIND_S, reason="behind",
            )  # fmt: skip

    def _refuse(self, message: str, *, retry_after_s: int, reason: str) -> None:
        metrics.SESSIONS_REFUSED.labels(reason=reason).inc()
        raise CapacityError(message, retry_after_s=math.ceil(retry_after_s), reason=reason)
