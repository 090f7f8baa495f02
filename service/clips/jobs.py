"""Clip jobs as the API sees them: ``submit`` stores the job (its row, its decoded audio in
shared storage) and puts it in the queue; status, progress and results are read from the
database and storage by any node. Which queue runs them is the deployment's choice
(``open_clip_jobs``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Protocol

import numpy as np
from fastapi.concurrency import run_in_threadpool

from service.blobs import BlobStore
from service.clips.render import audio_bytes, audio_prefix, motion_key, video_key
from service.persistence import ClipRow, Database
from service.pipeline import ClipOptions

log = logging.getLogger(__name__)


class QueueFullError(RuntimeError):
    """Too many clips are queued; the client should retry later."""


class ClipQueue(Protocol):
    kind: str

    async def enqueue(self, clip_id: str, *, priority: int) -> None: ...

    async def aclose(self) -> None: ...


def fair_priority(key_unfinished: int) -> int:
    """A job's priority from how many clips of the key that asked for it are already queued or
    running: one key's 100 clips line up behind another key's first (higher runs first)."""
    return -key_unfinished


class ClipJobs:
    """The API's side of clip jobs; ``aclose()`` once."""

    def __init__(
        self, *, db: Database, blobs: BlobStore, queue: ClipQueue, max_pending: int, scratch: Path
    ) -> None:
        self._db = db
        self._blobs = blobs
        self.queue = queue
        self._max_pending = max_pending
        self._scratch = scratch

    async def submit(
        self,
        *,
        owner: str,
        character_id: str,
        speech: np.ndarray,
        options: ClipOptions,
        partner: np.ndarray | None = None,
        key_id: str | None = None,
        request_id: str | None = None,
    ) -> ClipRow:
        """Queue a clip; speech/partner are (N,) float32 16 kHz, already decoded and checked."""
        row, ahead = await run_in_threadpool(
            self._store, owner, character_id, speech, options, partner, key_id, request_id
        )
        try:
            await self.queue.enqueue(row.id, priority=fair_priority(ahead))
        except BaseException:
            await run_in_threadpool(self._forget, row)
            raise
        log.info("clip queued clip=%s size=%s format=%s queue=%s", row.id, options.size,
                 options.fmt, self.queue.kind)  # fmt: skip
        return row

    def _store(
        self, owner: str, character_id: str, speech: np.ndarray, options: ClipOptions,
        partner: np.ndarray | None, key_id: str | None, request_id: str | None,
    ) -> tuple[ClipRow, int]:  # fmt: skip
        pending = self._db.clips.count_unfinished()
        if pending >= self._max_pending:
            raise QueueFullError(
                f"{pending} clips are already queued or rendering (VISAVIS_MAX_PENDING_CLIPS); "
                "retry when some have finished"
            )
        # per key, even between keys of one owner (a page's publishable key and the owner's
        # server); by owner for a clip asked for without a key (in-process callers)
        ahead = (self._db.clips.count_unfinished(key_id=key_id) if key_id is not None
                 else self._db.clips.count_unfinished(owner=owner))  # fmt: skip
        row = self._db.clips.insert(
            owner=owner, character_id=character_id, fmt=options.fmt, size=options.size,
            options={"seed": options.seed, "mix_partner": options.mix_partner, "fit": options.fit},
            request_id=request_id, key_id=key_id,
        )  # fmt: skip
        try:
            prefix = audio_prefix(row.id)
            self._blobs.put_bytes(prefix + "speech.npy", audio_bytes(speech), scratch=self._scratch)
            if partner is not None:
                self._blobs.put_bytes(prefix + "partner.npy", audio_bytes(partner),
                                      scratch=self._scratch)  # fmt: skip
        except BaseException:
            self._forget(row)
            raise
        return row, ahead

    def _forget(self, row: ClipRow) -> None:
        self._db.clips.delete(row.id, owner=row.owner)
        self.discard_files(row)

    def video_key(self, row: ClipRow) -> str:
        return video_key(row)

    def motion_key(self, row: ClipRow) -> str:
        return motion_key(row)

    def discard_files(self, row: ClipRow) -> None:
        """Every stored file of the clip (a render still running stops at its next frame when
        it finds its row gone)."""
        self._blobs.delete_prefix(audio_prefix(row.id))
        self._blobs.delete(video_key(row))
        self._blobs.delete(motion_key(row))

    def wait(self, clip_id: str, timeout: float | None = None) -> ClipRow | None:
        """Block until the clip is done or failed (or gone); tests and tools use this."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            row = self._db.clips.find(clip_id)
            if row is None or row.status in ("done", "failed"):
                return row
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"clip {clip_id} is still {row.status} after {timeout} s")
            time.sleep(0.05)

    def expire(self, *, older_than_seconds: float, now: float | None = None) -> int:
        """Delete the files and records of clips that finished more than ``older_than_seconds``
        ago; returns how many went. Queued and running clips are never touched."""
        cutoff = (time.time() if now is None else now) - older_than_seconds
        expired = self._db.clips.finished_before(cutoff)
        for row in expired:
            self.discard_files(row)
            self._db.clips.delete(row.id, owner=row.owner)
        if expired:
            log.info("clips expired count=%d", len(expired))
        return len(expired)

    async def aclose(self) -> None:
        await self.queue.aclose()
