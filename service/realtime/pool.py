"""A pool of frame worker processes (``host.py``) for the sessions of one process.

Each session is pinned to the worker with the fewest sessions, and given a clock phase: the
sessions of one worker tick at different moments of the 40 ms frame period (and the workers are
offset from each other), so that their frames do not all ask for the same core at once. Per frame the session sends one
small message (its audio, the partner's audio, gestures, whether to render) and gets back the
motion frame at once and the picture, in a shared-memory slot, when it is rendered. The pool
starts its workers with the first session, or all at once with ``warm()`` (a worker imports torch
and the renderer before it reports ready: seconds), and replaces a
worker that died; the sessions that were on it fail with ``FrameWorkerError``, which is logged.
``aclose()`` stops every worker and leaves no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import multiprocessing
import os
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from audio.clocks import FPS
from service.realtime.host import PICTURE_SLOTS, serve
from service.realtime.messages import (
    Close,
    Closed,
    Failed,
    FromWorker,
    Motion,
    Open,
    Opened,
    Ready,
    Stop,
    Video,
    decode,
)
from service.realtime.parts import PartsBuilder, SessionSpec, build_parts
from service.realtime.pooled import FrameWorkerError, PooledFrames, Slot, Worker, resolve

__all__ = ["FramePool", "FrameWorkerError", "PooledFrames", "default_workers"]

log = logging.getLogger(__name__)

STOP_GRACE_S = 3.0


def default_workers() -> int:
    """One worker per core: each does one core's worth of frames."""
    return max(1, os.cpu_count() or 1)


class FramePool:
    """Worker processes that run sessions' motion streams and renderers."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        build: PartsBuilder = build_parts,
        open_timeout_s: float = 120.0,
        stagger: bool = True,
    ) -> None:
        """``stagger``: give sessions clock phases spread over the frame period (else they
        tick whenever they were started)."""
        count = default_workers() if workers is None else workers
        if not isinstance(count, int) or not 1 <= count <= 64:
            raise ValueError(f"workers must be an integer in 1..64, got {workers!r}")
        if not open_timeout_s > 0:
            raise ValueError(f"open_timeout_s must be > 0, got {open_timeout_s}")
        self._open_timeout_s = open_timeout_s
        self._stagger = stagger
        self.size = count
        self._build = build
        self._context = multiprocessing.get_context("spawn")  # no forked torch or event loop
        self._workers: list[Worker] = []
        self._ids = itertools.count(1)
        self._spawned = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def pids(self) -> list[int]:
        """Process ids of the live workers."""
        return [w.process.pid for w in self._workers if w.alive and w.process.pid is not None]

    def warm(self) -> None:
        """Start every worker now, so that the first sessions need not wait for a worker to
        import torch and the renderer (seconds; tens of seconds on a busy machine)."""
        self._bind_loop()
        self._workers = [w for w in self._workers if w.alive]
        while len(self._workers) < self.size:
            self._workers.append(self._spawn())

    async def wait_ready(self) -> None:
        """Until every started worker has imported its parts and reported ready
        (``FrameWorkerError`` if one exited first)."""
        await asyncio.gather(*(worker.ready for worker in self._workers))

    def _bind_loop(self) -> asyncio.AbstractEventLoop:
        if self._closed:
            raise FrameWorkerError("the frame pool is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("a frame pool serves the event loop it was first used on")
        return loop

    async def open(self, spec: SessionSpec) -> PooledFrames:
        """A session's frames on the least busy worker (started if needed)."""
        loop = self._bind_loop()
        worker = self._pick()
        slot = Slot(sid=next(self._ids), worker=worker, opened=loop.create_future())
        if self._stagger:
            taken = {other.rank for other in worker.slots.values()}
            slot.rank = next(r for r in itertools.count() if r not in taken)
            slot.phase = _phase(worker.index % self.size, self.size, slot.rank)
        worker.slots[slot.sid] = slot
        try:
            async with asyncio.timeout(self._open_timeout_s):
                await worker.ready  # a new worker is still importing
                worker.send(Open(slot.sid, spec))
                opened = await slot.opened
        except TimeoutError:
            worker.slots.pop(slot.sid, None)
            if worker.alive:
                worker.send(Close(slot.sid))  # if it ever gets built, drop it there
            raise FrameWorkerError(
                f"frame worker {worker.index} did not build the session in "
                f"{self._open_timeout_s:g} s"
            ) from None
        except BaseException:
            worker.slots.pop(slot.sid, None)
            raise
        slot.shm = SharedMemory(name=opened.shm_name)
        slot.pictures = np.ndarray((PICTURE_SLOTS, *opened.shape), np.uint8, buffer=slot.shm.buf)
        return PooledFrames(slot, opened.latency_frames)

    def _pick(self) -> Worker:
        self._workers = [w for w in self._workers if w.alive]
        if len(self._workers) < self.size:
            self._workers.append(self._spawn())
        return min(self._workers, key=lambda w: (len(w.slots), w.index))

    def _spawn(self) -> Worker:
        index = next(self._spawned)
        parent_conn, child_conn = self._context.Pipe(duplex=True)
        process = self._context.Process(
            target=serve, args=(child_conn, self._build), name=f"visavis-frames-{index}",
            daemon=True,  # never outlives this process, even if aclose() is never reached
        )  # fmt: skip
        process.start()
        child_conn.close()
        worker = Worker(process, parent_conn, index)
        assert self._loop is not None
        self._loop.add_reader(parent_conn.fileno(), self._on_readable, worker)
        log.info("frame worker started worker=%d pid=%s", index, process.pid)
        return worker

    def _on_readable(self, worker: Worker) -> None:
        try:
            while worker.alive and worker.conn.poll():
                self._dispatch(worker, decode(worker.conn.recv()))
        except (EOFError, OSError):
            self._lost(worker)
        except Exception:  # a garbled message: this worker cannot be trusted any more
            log.exception("frame worker sent a bad message worker=%d", worker.index)
            worker.process.kill()
            self._lost(worker)

    def _dispatch(self, worker: Worker, message: FromWorker) -> None:
        if isinstance(message, Ready):
            if not worker.ready.done():
                worker.ready.set_result(message.pid)
            return
        slot = worker.slots.get(message.sid)
        if slot is None:
            return  # a session closed meanwhile
        if isinstance(message, Motion):
            if slot.stamps is not None:
                slot.stamps[message.seq] = [message.received_at, message.stepped_at, None, None]
            resolve(slot.pending.motions.pop(message.seq, None), (message.motion, message.state))
        elif isinstance(message, Video):
            stamps = slot.stamps.get(message.seq) if slot.stamps is not None else None
            if stamps is not None:
                stamps[2:] = [message.started_at, message.rendered_at]
            video = slot.pending.videos.pop(message.seq, None)
            if slot.pictures is not None:  # else the session closed meanwhile
                resolve(video, slot.pictures[message.slot].copy())  # the slot is reused
        elif isinstance(message, Opened):
            resolve(slot.opened, message)
        elif isinstance(message, Closed):
            worker.slots.pop(slot.sid, None)
        elif isinstance(message, Failed):
            slot.fail(FrameWorkerError(f"frame worker {worker.index}: {message.reason}"))

    def _lost(self, worker: Worker) -> None:
        """The worker's pipe closed: it exited or was killed. Fail its sessions, loudly."""
        if not worker.alive:
            return
        worker.alive = False
        self._stop_reading(worker)
        worker.process.join(timeout=0.2)  # its pipe closed as it exited: reap it for the code
        code = worker.process.exitcode
        if self._closed:
            return
        log.error(
            "frame worker exited worker=%d pid=%s exitcode=%s sessions=%d",
            worker.index, worker.process.pid, code, len(worker.slots),
        )  # fmt: skip
        error = FrameWorkerError(
            f"frame worker {worker.index} (pid {worker.process.pid}) exited with code {code}; "
            f"its {len(worker.slots)} session(s) stopped"
        )
        if not worker.ready.done():
            worker.ready.set_exception(error)
        for slot in list(worker.slots.values()):
            slot.fail(error)

    def _stop_reading(self, worker: Worker) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(worker.conn.fileno())

    async def aclose(self) -> None:
        """Stop every worker (politely, then by force) and wait until each has exited."""
        if self._closed:
            return
        self._closed = True
        workers, self._workers = self._workers, []
        for worker in workers:
            if worker.alive:
                with contextlib.suppress(FrameWorkerError):  # already gone: joined below
                    worker.send(Stop())
            worker.alive = False
            self._stop_reading(worker)
            for slot in list(worker.slots.values()):
                slot.fail(FrameWorkerError("the frame pool was closed"))
        await asyncio.gather(*(asyncio.to_thread(_reap, w) for w in workers))


def _phase(position: int, workers: int, rank: int) -> float:
    """Clock phase (s) of a worker's ``rank``-th session. A worker's sessions take the period's
    fractions 0, 1/2, 1/4, 3/4, 1/8, ... (each new one halves the widest gap) so they never
    coincide; worker ``position`` is shifted by position/(2·workers) of the period, which
    interleaves the workers' first two sessions evenly (2 workers: 0 and 1/2 on one, 1/4 and
    3/4 on the other)."""
    fraction, scale, bits = 0.0, 0.5, rank
    while bits:
        fraction += scale * (bits & 1)
        bits >>= 1
        scale /= 2
    fraction = (fraction + position / (2 * workers)) % 1.0
    return min(fraction / FPS, math.nextafter(1.0 / FPS, 0.0))


def _reap(worker: Worker) -> None:
    worker.process.join(STOP_GRACE_S)
    if worker.process.is_alive():
        log.warning("frame worker did not stop: terminating pid=%s", worker.process.pid)
        worker.process.terminate()
        worker.process.join(STOP_GRACE_S)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join()
    worker.conn.close()
    log.info("frame worker stopped worker=%d pid=%s", worker.index, worker.process.pid)
