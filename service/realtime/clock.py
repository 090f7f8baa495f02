"""A frame clock: monotonic deadlines at a fixed rate that never drift.

Deadline ``k`` is ``start + k / fps``, computed from the frame index rather than by adding up
sleeps, so rounding and scheduling jitter never accumulate. A frame that leaves after the next
deadline (plus the clock's ``slack``) is a missed deadline; when the clock falls far behind (a
stalled machine) it restarts from now rather than bursting out a backlog of stale frames.
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
        """Sleep until the current frame's deadline; returns that deadline. A deadline already
        past still yields to the event loop once: after a stall, the audio that arrived late
        must be queued before the catching-up ticks run, or they take silence and that audio
        plays later for the rest of its utterance."""
        deadline = self.deadline()
        await asyncio.sleep(max(0.0, deadline - self._now()))
        return deadline

    def advance(self) -> None:
        """The current frame's tick was taken: move on to the next. When the ticks have fallen
        far behind (a stalled machine) the clock restarts from now instead of bursting out a
        backlog of frames."""
        self._index += 1
        now = self._now()
        if now - self.deadline() > self._max_behind * self.period:
            self._start = self._aligned(now)
            self._index = 0
            self.restarts += 1

    def sent(self, deadline: float, sent_at: float | None = None) -> bool:
        """The frame ticked at ``deadline`` left (now, or at ``sent_at``); True, and counted,
        if that missed its deadline: one period after its tick, plus the slack."""
        sent_at = self._now() if sent_at is None else sent_at
        late = sent_at > deadline + self.period + self.slack
        if late:
            self.missed += 1
        return late
