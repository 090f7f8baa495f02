"""Clip jobs on PostgreSQL with procrastinate: every API node defers jobs into the database's
queue, and every ``visavis clip-worker`` (and any API node with ``VISAVIS_CLIP_WORKERS`` > 0)
takes them, fairest first (``fair_priority`` as procrastinate's job priority).

A worker killed mid-render stops sending its heartbeat; after ``VISAVIS_CLIP_STALL_SECONDS``
the other workers' reapers find its job stalled and put it back in the queue, where the next
free worker takes it from the start. A worker that is stopped (SIGTERM) puts its running jobs
back itself, at their next frame.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy

from service.clips.render import ClipRenderer
from service.persistence.urls import engine_url

log = logging.getLogger(__name__)

TASK_NAME = "visavis.render_clip"
POLL_SECONDS = 1.0
"""New jobs are announced by NOTIFY; jobs put back by a reaper are found by this poll."""


class Requeue(Exception):
    """The render was stopped with its process: procrastinate retries the job (at once)."""


def libpq_url(url: str) -> str:
    """``url`` as psycopg's connection string (no SQLAlchemy driver suffix)."""
    return engine_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresQueue:
    kind = "postgresql"

    def __init__(self, *, url: str, renderer: ClipRenderer | None, stall_seconds: float) -> None:
        """``renderer``: None for a process that only defers jobs (an API node that renders
        none)."""
        self._renderer = renderer
        self._stall = float(stall_seconds)
        self._stopping = threading.Event()
        self.app = App(connector=PsycopgConnector(conninfo=libpq_url(url), min_size=1, max_size=4))
        self._task = self.app.task(
            name=TASK_NAME, pass_context=True,
            retry=RetryStrategy(max_attempts=1000, retry_exceptions={Requeue}),
        )(self._run_job)  # fmt: skip
        self._tasks: set[asyncio.Task[Any]] = set()

    async def open(self) -> None:
        await self.app.open_async()

    async def enqueue(self, clip_id: str, *, priority: int) -> None:
        await self._task.configure(priority=priority).defer_async(clip_id=clip_id)

    def _run_job(self, context: JobContext, clip_id: str) -> None:
        """procrastinate runs this (a sync task) in a thread of the worker's loop."""
        assert self._renderer is not None, "this process defers clip jobs but renders none"
        outcome = self._renderer.render(
            clip_id, stopping=lambda: self._stopping.is_set() or context.should_abort()
        )
        if outcome == "requeued":
            raise Requeue(clip_id)

    def start_worker(self, *, concurrency: int, name: str) -> None:
        """Take jobs in this process, ``concurrency`` at a time, and reap lost workers' jobs."""
        if self._renderer is None:
            raise RuntimeError("a queue without a renderer cannot run a worker")
        heartbeat = self._stall / 3
        worker = self.app.run_worker_async(
            name=name, concurrency=concurrency, install_signal_handlers=False,
            fetch_job_polling_interval=POLL_SECONDS, update_heartbeat_interval=heartbeat,
            stalled_worker_timeout=self._stall, delete_jobs="successful",
        )  # fmt: skip
        self._spawn(worker, "clip-worker")
        self._spawn(self._reap_forever(), "clip-reaper")

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("clip queue task failed task=%s", task.get_name(), exc_info=task.exception())

    async def reap(self) -> int:
        """Put the jobs of workers silent for the stall time back in the queue; returns how
        many (another reaper may take one first: that one is skipped)."""
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            task_name=TASK_NAME, seconds_since_heartbeat=self._stall
        )
        taken = 0
        for job in stalled:
            try:
                await manager.retry_job(job)
            except Exception:  # already retried by another worker's reaper
                continue
            taken += 1
            log.warning("clip job taken from a lost worker job=%s clip=%s", job.id,
                        job.task_kwargs.get("clip_id"))  # fmt: skip
        return taken

    async def _reap_forever(self) -> None:
        while True:
            await self.reap()
            await asyncio.sleep(self._stall / 3)

    @property
    def working(self) -> int:
        """Background tasks alive (worker + reaper): 2 in a healthy worker process."""
        return len(self._tasks)

    async def aclose(self) -> None:
        """Running renders go back to the queue (at their next frame); then the worker stops."""
        self._stopping.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        await self.app.close_async()
        if self._renderer is not None:
            self._renderer.close()
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, asyncio.CancelledError):
                raise result
