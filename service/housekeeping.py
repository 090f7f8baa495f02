"""Background upkeep of a running service: finished clips are deleted after their retention."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from fastapi.concurrency import run_in_threadpool

if TYPE_CHECKING:
    from service.clips import ClipJobs

log = logging.getLogger(__name__)

SWEEPS_PER_RETENTION = 24
"""A clip outlives its retention by at most 1/24 of it (an hour for the default 24 h)."""
MIN_SWEEP_SECONDS = 1.0


class Housekeeping:
    """Owns the periodic sweep task; ``aclose()`` cancels it."""

    def __init__(self, *, jobs: ClipJobs, retention_seconds: float) -> None:
        if retention_seconds < 0:
            raise ValueError(
                f"retention_seconds {retention_seconds!r} must be >= 0 (0 keeps clips)"
            )
        self._jobs = jobs
        self._retention = retention_seconds
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def sweep_seconds(self) -> float:
        return max(self._retention / SWEEPS_PER_RETENTION, MIN_SWEEP_SECONDS)

    async def sweep(self) -> int:
        """Expire clips once now; returns how many were deleted."""
        if self._retention == 0:
            return 0
        return await run_in_threadpool(self._jobs.expire, older_than_seconds=self._retention)

    def start(self) -> None:
        if self._retention == 0 or self._tasks:
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
