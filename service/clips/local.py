"""Clip jobs in the process that took them (the embedded default, with SQLite): a few threads
take jobs from a priority queue, fairest first (``fair_priority``).

The jobs' rows and audio are in the database and storage, not only in memory: at start-up the
clips a previous run left queued or running are queued again, so a restart delays them rather
than failing them. One process owns the queue, so this is for a single node; several nodes
share the PostgreSQL queue (``pgqueue``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import threading

from service.clips.render import ClipRenderer

log = logging.getLogger(__name__)


class LocalQueue:
    kind = "local"

    def __init__(self, *, renderer: ClipRenderer, workers: int) -> None:
        if not 1 <= workers <= 64:
            raise ValueError(f"a local clip queue needs 1..64 workers, got {workers}")
        self._renderer = renderer
        self._heap: list[tuple[int, int, str]] = []  # (-priority, arrival, clip id)
        self._arrivals = itertools.count()
        self._ready = threading.Condition()
        self._closing = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, name=f"visavis-clip-{n}", daemon=True)
            for n in range(workers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    async def enqueue(self, clip_id: str, *, priority: int) -> None:
        self.put(clip_id, priority=priority)

    def put(self, clip_id: str, *, priority: int) -> None:
        if self._closing.is_set():
            raise RuntimeError("the clip queue is shutting down")
        with self._ready:
            heapq.heappush(self._heap, (-priority, next(self._arrivals), clip_id))
            self._ready.notify()

    def _next(self) -> str | None:
        with self._ready:
            while not self._heap and not self._closing.is_set():
                self._ready.wait()
            if self._closing.is_set():
                return None
            return heapq.heappop(self._heap)[2]

    def _work(self) -> None:
        while (clip_id := self._next()) is not None:
            try:
                self._renderer.render(clip_id, stopping=self._closing.is_set)
            except Exception:  # logged with its clip by the renderer; the thread goes on
                log.error("clip job raised clip=%s", clip_id)

    async def aclose(self) -> None:
        """Running renders go back to the queue at their next frame; queued ones stay queued
        in the database (the next start takes them up)."""
        self._closing.set()
        with self._ready:
            self._ready.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                await asyncio.to_thread(thread.join)
        self._renderer.close()
