"""Clip jobs: render requested clips in a small thread pool, with progress in the database.

A request decodes its audio (or speaks its text) first, so bad input is refused at once; the
slow part, rendering and encoding, runs here. Files go to ``<data>/clips/<id>.<fmt>`` and
``<id>.motion.csv``. Closing the runner cancels queued jobs and stops running ones at the next
frame; jobs a crashed process left behind are marked failed at start-up.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from service.persistence import ClipRow
from service.persistence.clips import ClipRows
from service.pipeline import ClipOptions, render_clip

log = logging.getLogger(__name__)

CLIP_JOBS = Counter("visavis_clip_jobs_total", "Clip jobs finished, by outcome", ["status"])
CLIP_RUNNING = Gauge("visavis_clip_jobs_running", "Clip jobs rendering now")
CLIP_SECONDS = Histogram(
    "visavis_clip_render_seconds", "Wall time to render one clip",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)  # fmt: skip
CLIP_FRAMES = Counter("visavis_clip_frames_total", "Video frames rendered for clips")

PROGRESS_EVERY_SECONDS = 0.5
"""Progress is written to the database at most this often (and at the end)."""


class QueueFullError(RuntimeError):
    """Too many clips are queued; the client should retry later."""


class JobCancelled(Exception):
    """Raised inside a job's progress callback to stop it (deleted clip or shutdown)."""


class ClipJobs:
    """Owns the worker threads and the clip files; the database owns the job rows."""

    def __init__(
        self, *, clips: ClipRows, store: Any, clips_dir: Path, workers: int = 1, max_pending: int = 32,
        on_finish: Callable[[ClipRow], None] | None = None,
    ) -> None:
        """``on_finish``: told of each clip that finished (done or failed), in the job's thread."""
        self._clips = clips
        self._store = store
        self.clips_dir = Path(clips_dir)
        self.clips_dir.mkdir(parents=True, exist_ok=True)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visavis-clip")
        self._futures: dict[str, Future[None]] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._max_pending = max_pending
        self._on_finish = on_finish

    # ---- files ----------------------------------------------------------------------------------

    def video_path(self, row: ClipRow) -> Path:
        return self.clips_dir / f"{row.id}.{row.format}"

    def motion_path(self, row: ClipRow) -> Path:
        return self.clips_dir / f"{row.id}.motion.csv"

    # ---- jobs -----------------------------------------------------------------------------------

    def submit(
        self,
        *,
        owner: str,
        character_id: str,
        speech: np.ndarray,
        options: ClipOptions,
        partner: np.ndarray | None = None,
        key_id: str | None = None,
    ) -> ClipRow:
        """Queue a clip; speech/partner are (N,) float32 16 kHz, already decoded and checked."""
        if self._closing.is_set():
            raise RuntimeError("the clip runner is shutting down")
        with self._lock:
            pending = len(self._futures)
        if pending >= self._max_pending:
            raise QueueFullError(
                f"{pending} clips are already queued or rendering (VISAVIS_MAX_PENDING_CLIPS); "
                "retry when some have finished"
            )
        row = self._clips.insert(
            owner=owner, character_id=character_id, fmt=options.fmt, size=options.size,
            key_id=key_id,
        )  # fmt: skip
        future = self._executor.submit(self._run, row, speech, partner, options)
        with self._lock:
            self._futures[row.id] = future
        future.add_done_callback(functools.partial(self._forget, row.id))
        log.info("clip queued clip=%s size=%s format=%s", row.id, options.size, options.fmt)
        return row

    def _forget(self, clip_id: str, _future: Future[None]) -> None:
        with self._lock:
            self._futures.pop(clip_id, None)
            self._cancelled.discard(clip_id)

    def wait(self, clip_id: str, timeout: float | None = None) -> None:
        """Block until the job is finished (tests and the demo use this)."""
        with self._lock:
            future = self._futures.get(clip_id)
        if future is not None:
            future.result(timeout=timeout)

    def cancel(self, row: ClipRow) -> None:
        """Stop the job if it is queued or running, and delete its files."""
        with self._lock:
            self._cancelled.add(row.id)
            future = self._futures.get(row.id)
        if future is not None:
            future.cancel()
        for path in (self.video_path(row), self.motion_path(row)):
            path.unlink(missing_ok=True)

    def expire(self, *, older_than_seconds: float, now: float | None = None) -> int:
        """Delete the files and records of clips that finished more than ``older_than_seconds``
        ago; returns how many went. Queued and running clips are never touched."""
        cutoff = (time.time() if now is None else now) - older_than_seconds
        expired = self._clips.finished_before(cutoff)
        for row in expired:
            for path in (self.video_path(row), self.motion_path(row)):
                path.unlink(missing_ok=True)
            self._clips.delete(row.id, owner=row.owner)
        if expired:
            log.info("clips expired count=%d", len(expired))
        return len(expired)

    def close(self) -> None:
        """Cancel queued jobs, stop running ones at their next frame, wait for the threads."""
        self._closing.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._clips.fail_unfinished("the service stopped before this clip finished")

    # ---- one job (worker thread) ----------------------------------------------------------------

    def _run(
        self, row: ClipRow, speech: np.ndarray, partner: np.ndarray | None, options: ClipOptions
    ) -> None:
        started = time.monotonic()
        last_write = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last_write
            if self._closing.is_set() or row.id in self._cancelled:
                raise JobCancelled(row.id)
            now = time.monotonic()
            if now - last_write >= PROGRESS_EVERY_SECONDS:
                self._clips.update(row.id, progress=round(done / total, 4))
                last_write = now

        self._clips.update(row.id, status="running")
        CLIP_RUNNING.inc()
        try:
            character = self._store.load(row.character_id)
            result = render_clip(
                character, speech, self.video_path(row), options=options, partner_audio=partner,
                motion_out=self.motion_path(row), progress=progress,
            )  # fmt: skip
        except JobCancelled:
            self._finish(row, "failed", error="cancelled")
            return
        except ValueError as exc:  # bad input the checks at the door could not see
            self._finish(row, "failed", error=str(exc).splitlines()[0] if str(exc) else "bad input")
            return
        except Exception:
            log.exception("clip failed clip=%s", row.id)
            self._finish(row, "failed", error="internal error while rendering; see the server log")
            raise
        finally:
            CLIP_RUNNING.dec()
        CLIP_FRAMES.inc(result.frames)
        CLIP_SECONDS.observe(time.monotonic() - started)
        self._finish(row, "done", frames=result.frames, duration_s=result.seconds)
        log.info("clip done clip=%s frames=%d wall_s=%.1f", row.id, result.frames,
                 time.monotonic() - started)  # fmt: skip

    def _finish(self, row: ClipRow, status: str, **fields: Any) -> None:
        CLIP_JOBS.labels(status=status).inc()
        progress = 1.0 if status == "done" else None
        extra = {"progress": progress} if progress is not None else {}
        self._clips.update(row.id, status=status, finished=time.time(), **extra, **fields)
        if status != "done":
            for path in (self.video_path(row), self.motion_path(row)):
                path.unlink(missing_ok=True)
        if self._on_finish is not None:
            finished = self._clips.get(row.id, owner=row.owner)
            if finished is not None:
                self._on_finish(finished)
