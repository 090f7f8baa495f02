"""The frame worker process: it holds its sessions' motion streams and renderers and does their
per-frame work, so that several sessions use several cores (one Python thread each is what the
GIL allows; in one process four sessions' frame threads queued behind each other).

The parent talks to it over one duplex pipe (``multiprocessing`` connection), one message per
frame and session; the pictures go back through shared memory, two slots per session used in
turn (two renders may be in flight while the parent copies the older one out; a 512×512
RGB frame is 768 kB, too much to pickle 25 times a second per session).

Messages in:  ("open", sid, recipe) · ("step", sid, seq, audio, partner, triggers, render)
              · ("close", sid) · ("stop",)
Messages out: ("ready", pid) · ("opened", sid, latency_frames, shm_name, (H, W, 3))
              · ("motion", sid, seq, motion, received_at, stepped_at)
              · ("video", sid, seq, slot_index, render_started_at, rendered_at)
              · ("closed", sid)
              · ("error", sid, message)
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from typing import Any

import numpy as np

from avatars.driver import MotionStream
from avatars.motion import NUM_CHANNELS
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


@dataclass(frozen=True)
class SessionRecipe:
    """What a worker needs to build one session's motion stream and renderer: picklable, small
    (the character is read from its folder in the worker, never sent through the pipe)."""

    character_folder: str
    size: str = "512"
    seed: int | None = None
    persona: dict[str, float] | None = field(default=None, hash=False)


PartsBuilder = Callable[[SessionRecipe], tuple[MotionStream, Any]]
"""recipe -> (motion stream, renderer with ``render(motion) -> (H, W, 3) uint8``); a module-level
function (it is sent to the worker by reference)."""


def build_parts(recipe: SessionRecipe) -> tuple[MotionStream, Any]:
    """The service's parts: the stored character's renderer and the default motion stream."""
    from avatars.character import Character
    from renderer import Renderer
    from service.realtime.factory import motion_stream_for

    character = Character.load(recipe.character_folder)
    motion = motion_stream_for(character, seed=recipe.seed, persona=recipe.persona)
    return motion, Renderer(character, size=recipe.size)


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

    def _send(self, message: tuple[Any, ...]) -> None:
        with self._send_lock:
            self._conn.send(message)

    def serve(self) -> None:
        self._send(("ready", os.getpid()))
        renders: deque[tuple[int, int, np.ndarray]] = deque()  # (sid, seq, motion) to draw
        try:
            while True:
                # every message that came in, before each render: a session's motion step
                # never waits behind more than the one render being drawn (blocks when idle;
                # EOFError when the parent is gone)
                batch = [] if renders else [(self._conn.recv(), time.monotonic())]
                while self._conn.poll():
                    batch.append((self._conn.recv(), time.monotonic()))
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
        batch: list[tuple[tuple[Any, ...], float]],
        renders: deque[tuple[int, int, np.ndarray]],
    ) -> bool:
        """Motion for every session at once (it must advance each frame); the renders asked
        for join ``renders``, drawn one at a time between batches."""
        if not self._one_thread and "torch" in sys.modules:
            # per calling thread (see one_torch_thread): this one steps the models
            _one_thread_each()
            self._one_thread = True
        for message, received_at in batch:
            kind = message[0]
            if kind == "stop":
                return False
            if kind == "open":
                # built beside the frame loop: this worker's other sessions keep their pace
                builder = threading.Thread(
                    target=self._open, args=message[1:3], name=f"visavis-build-{message[1]}"
                )
                self._builders.add(builder)
                builder.start()
            elif kind == "close":
                with self._register_lock:
                    if message[1] not in self._sessions:
                        self._unwanted.add(message[1])  # the parent gave up on its build
                self._drop(message[1])
                self._send(("closed", message[1]))
            elif kind == "step":
                _, sid, seq, audio, partner, triggers, render = message
                motion = self._step(sid, seq, audio, partner, triggers, received_at)
                if motion is not None and render:
                    renders.append((sid, seq, motion))
            else:
                raise RuntimeError(f"frame worker: unknown message {kind!r}")
        return True

    def _open(self, sid: int, recipe: SessionRecipe) -> None:
        try:
            self._open_session(sid, recipe)
        finally:
            self._builders.discard(threading.current_thread())

    def _open_session(self, sid: int, recipe: SessionRecipe) -> None:
        try:
            motion, renderer = self._build(recipe)
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
            self._send(("error", sid, _describe(exc)))
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
        self._send(("opened", sid, latency, hosted.shm.name, first.shape))

    def _step(
        self,
        sid: int,
        seq: int,
        audio: np.ndarray,
        partner: np.ndarray,
        triggers: list[str],
        received_at: float,
    ) -> np.ndarray | None:
        hosted = self._sessions.get(sid)
        if hosted is None:
            return None  # closed meanwhile
        try:
            motion = step_motion(hosted.motion, audio, partner, triggers)
        except Exception as exc:
            self._fail(sid, exc)
            return None
        motion = np.asarray(motion, np.float32)
        self._send(("motion", sid, seq, motion, received_at, time.monotonic()))
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
        self._send(("video", sid, seq, index, started_at, time.monotonic()))

    def _fail(self, sid: int, exc: Exception) -> None:
        log.error("frame worker: session failed sid=%d", sid, exc_info=exc)
        self._drop(sid)
        self._send(("error", sid, _describe(exc)))

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


def _import_service_parts() -> None:
    """Import the world model and the renderer before reporting ready, so a warmed worker
    builds its first session in well under a second."""
    import renderer  # noqa: F401
    import service.realtime.factory  # noqa: F401
    from avatars.model import stream  # noqa: F401


def serve(conn: Connection, build: PartsBuilder) -> None:
    """The worker process's main: one thread, one core's worth of frames."""
    # one core per worker: torch's and OpenCV's own thread pools would only contend (set before
    # either is imported, which happens when the first session is built)
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["OPENCV_FOR_THREADS_NUM"] = "1"
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if build is build_parts:
        _import_service_parts()
    freeze_long_lived_objects()
    _Host(conn, build).serve()
    # Leave at once: the interpreter's teardown of torch and MediaPipe takes seconds and has
    # nothing left to save (the shared memory is closed, the parent unlinks it).
    logging.shutdown()
    os._exit(0)
