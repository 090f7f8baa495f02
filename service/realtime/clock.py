"""A frame clock: monotonic deadlines at a fixed rate that never drift.

Deadline ``k`` is ``start + k / fps``, computed from the frame index rather than by adding up
sleeps, so rounding and scheduling jitter never accumulate. A frame that leaves after the next
deadline (plus the clock's ``slack``) is a missed deadline; when the clock falls far behind (a
stalled machine) it restarts
from now rather than bursting out a backlog of stale frames.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class FrameClock:
    def __init__(
        self,
        *,
        fps: int,
        max_behind_frames: int = 5,
        phase: float | None = None,
        slack: float = 0.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        if max_behind_frames < 1:
            raise ValueError(f"max_behind_frames must be >= 1, got {max_behind_frames}")
        self.fps = fps
        self.period = 1.0 / fps
        if phase is not None and not 0.0 <= phase < self.period:
            raise ValueError(f"phase must be in [0, {self.period:g}) s, got {phase}")
        self.phase = phase
        if not 0.0 <= slack <= self.period:
            raise ValueError(f"slack must be in [0, {self.period:g}] s, got {slack}")
        self.slack = slack
        """How long after the next frame's deadline a frame may still leave on time (s)."""
        self._max_behind = max_behind_frames
        self._now = now
        self._start: float | None = None
        self._index = 0
        self.missed = 0
        """Frames that left after the deadline of the frame after them (plus the slack)."""
        self.restarts = 0
        """Times the clock gave up catching up and restarted from now."""

    @property
    def index(self) -> int:
        """Index of the frame whose deadline comes next (since the last restart)."""
        return self._index

    def deadline(self) -> float:
        """Monotonic time at which the current frame should start."""
        if self._start is None:
            self._start = self._aligned(self._now())
        return self._start + self._index * self.period

    def _aligned(self, t: float) -> float:
        """The first moment at or after ``t`` that is on this clock's phase."""
        if self.phase is None:
            return t
        return t + (self.phase - t) % self.period

    async def wait(self) -> float:
        """Sleep until the current frame's deadline; returns that deadline."""
        deadline = self.deadline()
        delay = deadline - self._now()
        if delay > 0:
            await asyncio.sleep(delay)
        return deadline

    def done(self) -> bool:
        """Mark the current frame as sent; returns True if it missed its deadline."""
        deadline = self.deadline()
        sent_at = self._now()
        late = sent_at > deadline + self.period + self.slack
        if late:
            self.missed += 1
        self._index += 1
        if sent_at - self.deadline() > self._max_behind * self.period:
            # far behind: restart from now instead of emitting a burst of catch-up frames
            self._start = self._aligned(sent_at)
            self._index = 0
            self.restarts += 1
        return late
