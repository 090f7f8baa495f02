"""The parent's side of one session on a ``FramePool`` worker: its slot (pending steps, its
shared-memory pictures, its clock phase), the worker it is on, and ``PooledFrames``, the session's
frame backend (the engine's ``FrameBackend``)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from service.realtime.frames import StepResult, WorkerStamps
from service.realtime.host import PICTURE_SLOTS
from service.realtime.messages import Close, Opened, Step, ToWorker, encode


class FrameWorkerError(RuntimeError):
    """A frame worker process failed or exited; the sessions it held cannot go on."""


@dataclass
class Pending:
    motions: dict[int, asyncio.Future[tuple[np.ndarray, str]]] = field(default_factory=dict)  # by seq
    videos: dict[int, asyncio.Future[np.ndarray]] = field(default_factory=dict)  # by seq


@dataclass
class Slot:
    """The parent's side of one pooled session."""

    sid: int
    worker: Worker
    opened: asyncio.Future[Opened]
    pending: Pending = field(default_factory=Pending)
    shm: SharedMemory | None = None
    pictures: np.ndarray | None = None  # (PICTURE_SLOTS, H, W, 3) uint8 view of ``shm``
    failure: BaseException | None = None
    rank: int = 0  # the session's place among its worker's clock phases (see ``_phase``)
    phase: float | None = None  # its clock phase, seconds into the frame period
    stamps: dict[int, list[float | None]] | None = None
    """seq -> the worker's (received, stepped, render started, rendered), when recorded."""

    def fail(self, error: BaseException) -> None:
        self.failure = error
        videos = list(self.pending.videos.values())
        futures: list[asyncio.Future[Any]] = [self.opened, *self.pending.motions.values(), *videos]
        for future in futures:
            if not future.done():
                future.set_exception(error)
        for video in videos:
            if not video.cancelled():
                # the engine meets the error through the motion it awaits every frame; a render
                # nobody awaits any more must not log it a second time when collected
                video.exception()


class Worker:
    def __init__(self, process: BaseProcess, conn: Connection, index: int) -> None:
        self.process = process
        self.conn = conn
        self.index = index
        self.ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.slots: dict[int, Slot] = {}
        self.alive = True

    def send(self, message: ToWorker) -> None:
        if not self.alive:
            raise FrameWorkerError(f"frame worker {self.index} has stopped")
        try:
            self.conn.send(encode(message))
        except OSError as exc:  # a broken pipe: the worker is gone; the reader reports it
            raise FrameWorkerError(f"frame worker {self.index} is gone ({exc})") from exc


def resolve(future: asyncio.Future[Any] | None, value: Any) -> None:
    if future is not None and not future.done():
        future.set_result(value)


class PooledFrames:
    """One session's frame work in a pool worker (the engine's ``FrameBackend``)."""

    def __init__(self, slot: Slot, latency_frames: int) -> None:
        self._slot = slot
        self.clock_phase = slot.phase
        """Where in the frame period this session's clock ticks (s), None: anywhere."""
        self.max_renders_in_flight = PICTURE_SLOTS
        self._latency = latency_frames
        self._seq = 0
        self._closed = False
        assert slot.pictures is not None
        height, width = slot.pictures.shape[1:3]
        self.video_size: tuple[int, int] | None = (width, height)
        """(width, height) of the session's pictures."""

    @property
    def worker_pid(self) -> int | None:
        """The process that does this session's frames."""
        return self._slot.worker.process.pid

    def record_stamps(self) -> None:
        """Keep the worker's timing stamps of every step from now on (see ``trace.py``)."""
        self._slot.stamps = {}

    def take_stamps(self, step: int) -> WorkerStamps:
        """The worker's (received, stepped, render started, rendered) of this session's
        ``step``-th step (counted from 1); the render's are None when it is not back yet.
        Earlier steps' stamps are forgotten."""
        stamps = self._slot.stamps
        if stamps is None:
            return None, None, None, None
        taken = stamps.get(step, [None, None, None, None])
        for seq in [s for s in stamps if s < step - 2]:
            del stamps[seq]
        return taken[0], taken[1], taken[2], taken[3]

    async def prime(self) -> int:
        return self._latency  # the worker filled the lookahead when it opened the session

    async def step(
        self, audio: np.ndarray, partner: np.ndarray, triggers: list[str], *, render: bool
    ) -> StepResult:
        """One frame: (SAMPLES_PER_FRAME,) of each stream in -> (NUM_CHANNELS,) motion, its
        conversation state and the future (H, W, 3) uint8 picture if ``render``. At most
        ``PICTURE_SLOTS`` renders may be in flight (asked for, their pictures not yet back)."""
        slot = self._slot
        if slot.failure is not None:
            raise slot.failure
        if render and len(slot.pending.videos) >= PICTURE_SLOTS:
            raise RuntimeError(f"{PICTURE_SLOTS} renders are already in flight for this session")
        loop = asyncio.get_running_loop()
        self._seq += 1
        seq = self._seq
        motion: asyncio.Future[tuple[np.ndarray, str]] = loop.create_future()
        slot.pending.motions[seq] = motion  # several steps may be in flight
        video: asyncio.Future[np.ndarray] | None = None
        if render:
            video = slot.pending.videos[seq] = loop.create_future()
        try:
            slot.worker.send(Step(slot.sid, seq, audio, partner, tuple(triggers), render))
            frame, state = await motion
            return StepResult(frame, state, video)
        finally:
            slot.pending.motions.pop(seq, None)

    def close(self) -> None:
        """Release the session's place in its worker and its shared memory."""
        if self._closed:
            return
        self._closed = True
        slot = self._slot
        if slot.worker.alive:
            try:
                slot.worker.send(Close(slot.sid))
            except FrameWorkerError:
                slot.worker.slots.pop(slot.sid, None)
        else:
            slot.worker.slots.pop(slot.sid, None)
        pending: list[asyncio.Future[Any]] = [*slot.pending.motions.values()]
        for future in [*pending, *slot.pending.videos.values()]:
            if not future.done():
                future.cancel()
        slot.pictures = None
        if slot.shm is not None:
            slot.shm.close()
            with contextlib.suppress(FileNotFoundError):
                slot.shm.unlink()
            slot.shm = None
