"""Which queue a process's clip jobs go to, and the one way to open it (API nodes and clip
workers alike)."""

from __future__ import annotations

import functools
import logging

from fastapi.concurrency import run_in_threadpool

from service.clips.jobs import ClipJobs
from service.clips.local import LocalQueue
from service.clips.pgqueue import PostgresQueue
from service.clips.render import ClipRenderer, worker_name
from service.persistence.urls import is_postgresql
from service.settings import Settings
from service.storage import Storage
from service.webhooks import clip_event

log = logging.getLogger(__name__)


def queue_url(settings: Settings) -> str | None:
    """The PostgreSQL database of the clip queue, or None for this process's own threads."""
    if settings.queue_url == "local":
        return None
    if settings.queue_url:
        return settings.queue_url
    return settings.database if is_postgresql(settings.database) else None


def renderer_for(settings: Settings, storage: Storage) -> ClipRenderer:
    """The renderer of an API node's or a clip worker's jobs; each clip it finishes is a webhook
    event of its owner's."""
    return ClipRenderer(db=storage.db, characters=storage.characters, blobs=storage.blobs,
                        scratch=settings.data_dir / "scratch", device=settings.device,
                        on_finish=functools.partial(clip_event, storage.db))  # fmt: skip


async def open_clip_jobs(settings: Settings, storage: Storage) -> ClipJobs:
    """The clip jobs of an API process: its queue opened, and its own workers started when
    ``settings.clip_workers`` > 0 (with the local queue, the jobs a previous run left behind
    are queued again first)."""
    url = queue_url(settings)
    renderer = renderer_for(settings, storage) if settings.clip_workers > 0 else None
    queue: LocalQueue | PostgresQueue
    if url is None:
        if renderer is None:
            raise ValueError("VISAVIS_CLIP_WORKERS=0 leaves clips to clip workers, which need a "
                             "shared queue: a PostgreSQL VISAVIS_DATABASE_URL or VISAVIS_QUEUE_URL")  # fmt: skip
        if storage.db.is_postgresql:
            log.warning("clip jobs run in this process (VISAVIS_QUEUE_URL=local): one API node only")
        queue = LocalQueue(renderer=renderer, workers=settings.clip_workers)
        await run_in_threadpool(_queue_left_over, storage, queue)
        queue.start()
    else:
        queue = PostgresQueue(url=url, renderer=renderer, stall_seconds=settings.clip_stall_seconds)
        await queue.open()
        if renderer is not None:
            queue.start_worker(concurrency=settings.clip_workers, name=worker_name())
    return ClipJobs(db=storage.db, blobs=storage.blobs, queue=queue,
                    max_pending=settings.max_pending_clips, scratch=settings.data_dir / "scratch")  # fmt: skip


def _queue_left_over(storage: Storage, queue: LocalQueue) -> None:
    """Clips a previous run of this node left queued or running go back in the queue."""
    for row in storage.db.clips.unfinished():
        if row.status == "running":  # its render was lost with the process: that attempt counts
            storage.db.clips.requeue(row.id, attempt_counts=True)
        queue.put(row.id, priority=0)
        log.info("clip queued again after a restart clip=%s", row.id)
