"""Background upkeep of a running service: finished clips are deleted after their retention, and
chores (leftovers of interrupted work, expired idempotency records, ...) run on every sweep."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fastapi.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from service.clips import ClipJobs

log = logging.getLogger(__name__)

SWEEPS_PER_RETENTION = 24
"""A clip outlives its retention by at most 1/24 of it (an hour for the default 24 h)."""
MIN_SWEEP_SECONDS = 1.0
CHORE_SWEEP_SECONDS = 600.0
"""Chores run at least this often, whatever the clip retention."""


class Housekeeping:
    """Owns the periodic sweep task; ``aclose()`` cancels it."""

    def __init__(
        self, *, jobs: ClipJobs, retention_seconds: float,
        chores: Sequence[Callable[[], object]] = (),
    ) -> None:  # fmt: skip
        """``chores``: blocking functions run on every sweep (in a thread)."""
        if retention_seconds < 0:
            raise ValueError(
                f"retention_seconds {retention_seconds!r} must be >= 0 (0 keeps clips)"
            )
        self._jobs = jobs
        self._retention = retention_seconds
        self._chores = tuple(chores)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sweep_seconds(self) -> float:
        if self._retention == 0:
            return CHORE_SWEEP_SECONDS
        every = max(self._retention / SWEEPS_PER_RETENTION, MIN_SWEEP_SECONDS)
        return min(every, CHORE_SWEEP_SECONDS) if self._chores else every

    async def sweep(self) -> int:
        """Run the chores and expire clips once now; returns how many clips were deleted."""
        for chore in self._chores:
            await run_in_threadpool(chore)
        if self._retention == 0:
            return 0
        return await run_in_threadpool(self._jobs.expire, older_than_seconds=self._retention)

    def start(self) -> None:
        if (self._retention == 0 and not self._chores) or self._tasks:
            return
        task = asyncio.get_running_loop().create_task(self._sweep_forever(), name="clip-expiry")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def _sweep_forever(self) -> None:
        while True:
            await self.sweep()
            await asyncio.sleep(self.sweep_seconds)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "housekeeping task failed task=%s", task.get_name(), exc_info=task.exception()
            )

    async def aclose(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                raise result
