"""The frame worker process: it holds its sessions' motion streams and renderers and does their
per-frame work, so that several sessions use several cores (one Python thread each is what the
GIL allows; in one process four sessions' frame threads queued behind each other).

The parent talks to it over one duplex pipe (``multiprocessing`` connection), one message per
frame and session; the pictures go back through shared memory, two slots per session used in
turn (two renders may be in flight while the parent copies the older one out; a 512×512
RGB frame is 768 kB, too much to pickle 25 times a second per session).

The messages are the dataclasses of ``messages.py``. This module imports only downwards
(the parts it builds, the engine's frame helpers), never the pool or the session factory.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from avatars.driver import MotionStream
from avatars.motion import NUM_CHANNELS
from service.realtime.messages import (
    Close,
    Closed,
    Failed,
    FromWorker,
    Motion,
    Open,
    Opened,
    Ready,
    Step,
    Stop,
    ToWorker,
    Video,
    decode,
    encode,
)
from service.realtime.parts import PartsBuilder, SessionSpec, build_parts, import_parts
from service.realtime.workers import (
    freeze_long_lived_objects,
    one_torch_thread,
    prime_motion,
    step_motion,
)

log = logging.getLogger(__name__)

PICTURE_SLOTS = 2
"""Shared-memory pictures per session: at most this many renders are in flight, so a render
never overwrites a picture the parent has not copied out yet."""


@dataclass
class _Hosted:
    motion: MotionStream
    renderer: Any
    shm: SharedMemory | None = None
    pictures: np.ndarray | None = None  # (2, H, W, 3) uint8 view of ``shm``
    renders: int = 0  # render k goes to slot k % 2


class _Host:
    def __init__(self, conn: Connection, build: PartsBuilder) -> None:
        self._conn = conn
        self._build = build
        self._sessions: dict[int, _Hosted] = {}
        self._send_lock = threading.Lock()  # sessions are built on threads beside the loop
        self._builders: set[threading.Thread] = set()
        self._one_thread = False
        self._unwanted: set[int] = set()
        self._register_lock = threading.Lock()

    def _send(self, message: FromWorker) -> None:
        with self._send_lock:
            self._conn.send(encode(message))

    def serve(self) -> None:
        self._send(Ready(os.getpid()))
        renders: deque[tuple[int, int, np.ndarray]] = deque()  # (sid, seq, motion) to draw
        try:
            while True:
                # every message that came in, before each render: a session's motion step
                # never waits behind more than the one render being drawn (blocks when idle;
                # EOFError when the parent is gone)
                batch = [] if renders else [(decode(self._conn.recv()), time.monotonic())]
                while self._conn.poll():
                    batch.append((decode(self._conn.recv()), time.monotonic()))
                if not self._handle(batch, renders):
                    return
                if renders:
                    self._render(*renders.popleft())
        except EOFError:
            log.info("frame worker: parent gone, exiting pid=%d", os.getpid())
        finally:
            for builder in list(self._builders):
                builder.join()
            for sid in list(self._sessions):
                self._drop(sid)

    def _handle(
        self,
        batch: list[tuple[ToWorker, float]],
        renders: deque[tuple[int, int, np.ndarray]],
    ) -> bool:
        """Motion for every session at once (it must advance each frame); the renders asked
        for join ``renders``, drawn one at a time between batches."""
        if not self._one_thread and "torch" in sys.modules:
            # per calling thread (see one_torch_thread): this one steps the models
            _one_thread_each()
            self._one_thread = True
        for message, received_at in batch:
            if isinstance(message, Stop):
                return False
            if isinstance(message, Step):
                motion = self._step(message, received_at)
                if motion is not None and message.render:
                    renders.append((message.sid, message.seq, motion))
            elif isinstance(message, Open):
                # built beside the frame loop: this worker's other sessions keep their pace
                builder = threading.Thread(
                    target=self._open, args=(message.sid, message.spec),
                    name=f"visavis-build-{message.sid}",
                )  # fmt: skip
                self._builders.add(builder)
                builder.start()
            elif isinstance(message, Close):
                with self._register_lock:
                    if message.sid not in self._sessions:
                        self._unwanted.add(message.sid)  # the parent gave up on its build
                self._drop(message.sid)
                self._send(Closed(message.sid))
            else:
                raise RuntimeError(f"frame worker: unknown message {message!r}")
        return True

    def _open(self, sid: int, spec: SessionSpec) -> None:
        try:
            self._open_session(sid, spec)
        finally:
            self._builders.discard(threading.current_thread())

    def _open_session(self, sid: int, spec: SessionSpec) -> None:
        try:
            parts = self._build(spec)
            motion, renderer = parts.motion, parts.renderer
            _one_thread_each()
            latency = prime_motion(motion)
            hosted = _Hosted(motion=motion, renderer=renderer)
            # a neutral frame: its shape sizes the slot, and it warms the renderer's caches
            first = np.ascontiguousarray(renderer.render(np.zeros(NUM_CHANNELS, np.float32)))
            hosted.shm = SharedMemory(create=True, size=PICTURE_SLOTS * first.nbytes)
            hosted.pictures = np.ndarray(
                (PICTURE_SLOTS, *first.shape), np.uint8, buffer=hosted.shm.buf
            )
        except Exception as exc:  # reported to the parent, which raises it for this session
            log.exception("frame worker: session open failed sid=%d", sid)
            self._send(Failed(sid, _describe(exc)))
            return
        assert hosted.shm is not None
        with self._register_lock:
            unwanted = sid in self._unwanted
            if not unwanted:
                self._sessions[sid] = hosted
        if unwanted:
            hosted.shm.close()
            hosted.shm.unlink()  # the parent never attached: nobody else will
            return
        self._send(Opened(sid, latency, hosted.shm.name, tuple(first.shape)))

    def _step(self, step: Step, received_at: float) -> np.ndarray | None:
        hosted = self._sessions.get(step.sid)
        if hosted is None:
            return None  # closed meanwhile
        try:
            motion = step_motion(hosted.motion, step.audio, step.partner, list(step.triggers))
            state = hosted.motion.state
        except Exception as exc:
            self._fail(step.sid, exc)
            return None
        motion = np.asarray(motion, np.float32)
        self._send(Motion(step.sid, step.seq, motion, state, received_at, time.monotonic()))
        return motion

    def _render(self, sid: int, seq: int, motion: np.ndarray) -> None:
        hosted = self._sessions.get(sid)
        if hosted is None:
            return
        started_at = time.monotonic()
        try:
            picture = hosted.renderer.render(motion)
            assert hosted.pictures is not None
            if picture.shape != hosted.pictures.shape[1:]:
                raise RuntimeError(
                    f"renderer gave a {picture.shape} frame; this session's are "
                    f"{hosted.pictures.shape[1:]}"
                )
            index = hosted.renders % PICTURE_SLOTS
            hosted.pictures[index] = picture
            hosted.renders += 1
        except Exception as exc:
            self._fail(sid, exc)
            return
        self._send(Video(sid, seq, index, started_at, time.monotonic()))

    def _fail(self, sid: int, exc: Exception) -> None:
        log.error("frame worker: session failed sid=%d", sid, exc_info=exc)
        self._drop(sid)
        self._send(Failed(sid, _describe(exc)))

    def _drop(self, sid: int) -> None:
        hosted = self._sessions.pop(sid, None)
        if hosted is not None and hosted.shm is not None:
            hosted.pictures = None
            hosted.shm.close()  # the parent unlinks it


def _one_thread_each() -> None:
    """torch and OpenCV on one thread (they are imported by the first build)."""
    one_torch_thread()
    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"


def serve(conn: Connection, build: PartsBuilder) -> None:
    """The worker process's main: one thread, one core's worth of frames."""
    # one core per worker: torch's and OpenCV's own thread pools would only contend (set before
    # either is imported, which happens when the first session is built)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OPENCV_FOR_THREADS_NUM"] = "1"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if build is build_parts:
        import_parts()
    freeze_long_lived_objects()
    _Host(conn, build).serve()
    # Leave at once: the interpreter's teardown of torch and MediaPipe takes seconds and has
    # nothing left to save (the shared memory is closed, the parent unlinks it).
    logging.shutdown()
    os._exit(0)
