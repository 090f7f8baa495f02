"""One clip job, whoever runs it (a thread of the API, a ``visavis clip-worker``): the job's
audio and the character from shared storage, ``render_clip`` into a scratch folder, the video
and the motion back into shared storage, status and progress in the database where every node
reads them.

A render stops at the next frame when its clip is deleted (the progress write finds no row:
nothing is kept) or when its process is stopping (the clip goes back to the queue for another
worker, from the start). A process killed outright leaves its clip running: the queue gives the
job to another worker, which starts it again; after ``MAX_ATTEMPTS`` lost renders the clip fails.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from prometheus_client import Counter, Gauge, Histogram

from avatars.store import CharacterNotFoundError
from renderer.framing import DEFAULT_FIT
from service.blobs import BlobNotFoundError, BlobStore
from service.characters import Characters
from service.observe.logs import request_context
from service.persistence import ClipRow, Database
from service.pipeline import ClipOptions, render_clip

log = logging.getLogger(__name__)

CLIP_JOBS = Counter("visavis_clip_jobs_total", "Clip jobs ended, by outcome", ["status"])
CLIP_RUNNING = Gauge("visavis_clip_jobs_running", "Clip jobs rendering now in this process")
CLIP_SECONDS = Histogram(
    "visavis_clip_render_seconds", "Wall time to render one clip",
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800),
)  # fmt: skip
CLIP_FRAMES = Counter("visavis_clip_frames_total", "Video frames rendered for clips")

PROGRESS_EVERY_SECONDS = 0.5
"""Progress is written to the database at most this often (and at the end)."""
MAX_ATTEMPTS = 3
"""A clip whose render was lost with its process this many times fails (it may be what kills
them)."""


def video_key(row: ClipRow) -> str:
    return f"clips/{row.id}.{row.format}"


def motion_key(row: ClipRow) -> str:
    return f"clips/{row.id}.motion.csv"


def audio_prefix(clip_id: str) -> str:
    """The uploaded (decoded) audio of a job, kept until the clip has finished."""
    return f"jobs/{clip_id}/"


def audio_bytes(samples: np.ndarray) -> bytes:
    """(N,) float32 16 kHz as .npy: the exact samples the request decoded, nothing re-encoded."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(samples, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def _load_audio(blobs: BlobStore, key: str) -> np.ndarray:
    samples = np.load(io.BytesIO(blobs.get_bytes(key)), allow_pickle=False)
    if samples.ndim != 1 or samples.dtype != np.float32:
        raise ValueError(f"stored audio {key} is not (N,) float32")
    return samples


class JobCancelled(Exception):
    """The clip was deleted while rendering."""


class JobInterrupted(Exception):
    """This process is stopping; the clip goes back to the queue."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ClipRenderer:
    """Renders clip jobs by id; thread-safe (each call uses its own scratch files)."""

    def __init__(
        self, *, db: Database, characters: Characters, blobs: BlobStore, scratch: Path,
        device: str = "cpu", on_finish: Callable[[ClipRow], None] | None = None,
    ) -> None:  # fmt: skip
        """``on_finish``: told of each clip this process finished (done or failed), in the
        rendering thread (the clip webhooks: ``service.webhooks.clip_event``)."""
        self._db = db
        self._on_finish = on_finish
        self._characters = characters
        self._blobs = blobs
        self._device = device
        self.name = worker_name()
        self._running = 0
        self._lock = threading.Lock()
        self.scratch = Path(scratch) / f"{socket.gethostname()}-{os.getpid()}"
        _remove_dead_scratch(Path(scratch))
        self.scratch.mkdir(parents=True, exist_ok=True)

    def render(self, clip_id: str, *, stopping: Callable[[], bool]) -> str:
        """Render the clip; returns ``done``, ``failed``, ``gone`` (deleted, or finished by
        another worker), or ``requeued`` (``stopping()`` became true)."""
        row = self._db.clips.start(clip_id, worker=self.name)
        if row is None:
            return "gone"
        with request_context(row.request_id):
            outcome = self._attempt(row, stopping)
            if outcome in ("done", "failed"):
                self._finished(clip_id)
        return outcome

    def _attempt(self, row: ClipRow, stopping: Callable[[], bool]) -> str:
        if row.attempts > MAX_ATTEMPTS:
            return self._fail(row, f"its render was lost {MAX_ATTEMPTS} times "
                                   "(the worker rendering it stopped); not retried")  # fmt: skip
        CLIP_RUNNING.inc()
        with self._lock:
            self._running += 1
        try:
            return self._render(row, stopping)
        finally:
            CLIP_RUNNING.dec()
            with self._lock:
                self._running -= 1

    def _finished(self, clip_id: str) -> None:
        if self._on_finish is None:
            return
        row = self._db.clips.find(clip_id)
        if row is not None:  # not deleted meanwhile
            self._on_finish(row)

    def _render(self, row: ClipRow, stopping: Callable[[], bool]) -> str:
        started = time.monotonic()
        video = self.scratch / f"{row.id}.{row.format}"
        motion = self.scratch / f"{row.id}.motion.csv"
        last_write = 0.0

        def progress(done: int, total: int) -> None:
            nonlocal last_write
            if stopping():
                raise JobInterrupted(row.id)
            now = time.monotonic()
            if now - last_write >= PROGRESS_EVERY_SECONDS:
                if not self._db.clips.update(row.id, progress=round(done / total, 4)):
                    raise JobCancelled(row.id)
                last_write = now

        log.info("clip started clip=%s attempt=%d", row.id, row.attempts)
        try:
            prefix = audio_prefix(row.id)
            speech = _load_audio(self._blobs, prefix + "speech.npy")
            partner = None
            if self._blobs.exists(prefix + "partner.npy"):
                partner = _load_audio(self._blobs, prefix + "partner.npy")
            options = ClipOptions(
                size=row.size, fmt=row.format, seed=row.options.get("seed"),
                mix_partner=bool(row.options.get("mix_partner")),
                fit=row.options.get("fit") or DEFAULT_FIT, device=self._device,
            )  # fmt: skip
            character = self._characters.load(row.character_id)
            result = render_clip(character, speech, video, options=options, partner_audio=partner,
                                 motion_out=motion, progress=progress)  # fmt: skip
            self._blobs.put_file(video_key(row), video, move=True)
            self._blobs.put_file(motion_key(row), motion, move=True)
        except JobCancelled:
            self._discard(row)
            log.info("clip deleted while rendering clip=%s", row.id)
            return "gone"
        except JobInterrupted:
            self._db.clips.requeue(row.id, attempt_counts=False)
            log.info("clip back in the queue clip=%s", row.id)
            return "requeued"
        except BlobNotFoundError as exc:
            return self._fail(row, f"its audio is no longer in storage ({exc})")
        except CharacterNotFoundError:
            return self._fail(row, f"character {row.character_id!r} was deleted")
        except ValueError as exc:  # bad input the checks at the door could not see
            return self._fail(row, str(exc).splitlines()[0] if str(exc) else "bad input")
        except Exception:
            log.exception("clip failed clip=%s", row.id)
            self._fail(row, "internal error while rendering; see the worker's log")
            raise
        finally:
            video.unlink(missing_ok=True)
            motion.unlink(missing_ok=True)
        self._blobs.delete_prefix(audio_prefix(row.id))
        wall = time.monotonic() - started
        finished = self._db.clips.update(row.id, status="done", progress=1.0, finished=time.time(),
                                         frames=result.frames, duration_s=result.seconds)  # fmt: skip
        if not finished:  # deleted during the upload
            self._discard(row)
            return "gone"
        CLIP_JOBS.labels(status="done").inc()
        CLIP_FRAMES.inc(result.frames)
        CLIP_SECONDS.observe(wall)
        log.info("clip done clip=%s frames=%d wall_s=%.1f", row.id, result.frames, wall)
        return "done"

    def _fail(self, row: ClipRow, error: str) -> str:
        CLIP_JOBS.labels(status="failed").inc()
        self._db.clips.update(row.id, status="failed", error=error, finished=time.time())
        self._discard(row)
        log.warning("clip failed clip=%s error=%s", row.id, error)
        return "failed"

    def _discard(self, row: ClipRow) -> None:
        """Every stored file of the clip: its audio, and a video of a render that lost."""
        self._blobs.delete_prefix(audio_prefix(row.id))
        self._blobs.delete(video_key(row))
        self._blobs.delete(motion_key(row))

    @property
    def running(self) -> int:
        """Clips this renderer is rendering now."""
        with self._lock:
            return self._running

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)


def _remove_dead_scratch(root: Path) -> None:
    """Scratch folders of this host's processes that died (killed mid-render) go."""
    host = socket.gethostname()
    for folder in root.glob(f"{host}-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
