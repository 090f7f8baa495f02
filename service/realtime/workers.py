"""The heavy work of a frame, off the event loop: one thread steps the motion stream, another
renders. Separate threads, so that a slow render never holds up the motion stream, which must
advance every frame, and the loop stays free to send frames on time."""

from __future__ import annotations

import asyncio
import gc
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from audio.clocks import SAMPLES_PER_FRAME
from avatars.driver import MotionStream
from service.realtime.frames import (
    FramePainter,
    Picture,
    StepResult,
    WorkerStamps,
    encode_jpeg,
)

_SILENCE = np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)

GIL_SWITCH_SECONDS = 0.0005
"""Every session runs two frame threads beside the event loop; with Python's default 5 ms GIL
switch interval they queue behind each other and frames go out late (3 sessions: 29% missed,
against 7% at 0.5 ms, measured with ``python -m tools.realtime_bench``)."""


def freeze_long_lived_objects() -> None:
    """Exempt every object alive now from the cyclic garbage collector: torch, transformers and
    MediaPipe leave about a million long-lived objects, and a full collection walks them all in
    the middle of some frame. Call once the heavy imports are done."""
    gc.collect()
    gc.freeze()


def one_torch_thread() -> None:
    """One intra-op thread for torch on the calling thread. OpenMP keeps the thread count per
    thread: a new thread runs torch on every core, whatever ``torch.set_num_threads`` said on
    another, and two spinning intra-op threads per model step made a step 40x slower on a busy
    2-core machine (3 -> 150 ms, measured). One frame step is far too small to split."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def prime_motion(motion: MotionStream) -> int:
    """Fill the motion stream's lookahead with silence, so that every later step yields a
    frame; returns how many silent frames went in (its ``latency_frames``)."""
    for _ in range(motion.latency_frames):
        if motion.push(_SILENCE, _SILENCE) is not None:
            raise RuntimeError("motion stream returned a frame while filling its lookahead")
    return motion.latency_frames


def step_motion(
    motion: MotionStream, audio: np.ndarray, partner: np.ndarray, triggers: list[str]
) -> np.ndarray:
    """One step of a primed stream: the gestures, then (SAMPLES_PER_FRAME,) of each stream in
    -> (NUM_CHANNELS,) motion out."""
    for gesture in triggers:
        motion.trigger(gesture)
    frame = motion.push(audio, partner)
    if frame is None:
        raise RuntimeError("motion stream returned no frame after its lookahead was primed")
    return frame


def _step_with_state(
    motion: MotionStream, audio: np.ndarray, partner: np.ndarray, triggers: list[str]
) -> tuple[np.ndarray, str]:
    frame = step_motion(motion, audio, partner, triggers)
    return frame, motion.state


class FrameWorkers:
    """A session's frames on two threads of this process (the engine's ``FrameBackend``)."""

    clock_phase: float | None = None  # threads of one process: any phase will do
    max_renders_in_flight = 2  # one rendering, the next queued behind it on the render thread

    def __init__(
        self,
        *,
        motion: MotionStream,
        renderer: FramePainter,
        video_size: tuple[int, int] | None = None,
        jpeg_quality: int | None = None,
    ) -> None:
        """``jpeg_quality``: also encode each picture as JPEG, on the render thread."""
        self.video_size = video_size
        self._jpeg_quality = jpeg_quality
        self._motion = motion
        self._renderer = renderer
        if sys.getswitchinterval() > GIL_SWITCH_SECONDS:
            sys.setswitchinterval(GIL_SWITCH_SECONDS)  # process-wide: this process serves frames
        self._motion_thread = ThreadPoolExecutor(
            1, thread_name_prefix="visavis-motion", initializer=one_torch_thread
        )
        self._render_thread = ThreadPoolExecutor(1, thread_name_prefix="visavis-render")

    async def prime(self) -> int:
        """Fill the motion stream's lookahead with silence, so that every later step yields a
        frame; returns how many silent frames went in (its ``latency_frames``)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._motion_thread, prime_motion, self._motion)

    async def step(
        self, audio: np.ndarray, partner: np.ndarray, triggers: list[str], *, render: bool
    ) -> StepResult:
        """One frame: its motion and state, and the future picture if ``render`` (see
        ``FrameBackend``)."""
        loop = asyncio.get_running_loop()
        motion, state = await loop.run_in_executor(
            self._motion_thread, _step_with_state, self._motion, audio, partner, triggers
        )
        return StepResult(motion, state, self.render(motion) if render else None)

    def render(self, motion: np.ndarray) -> asyncio.Future[Picture]:
        """Start rendering (NUM_CHANNELS,) motion; the future gives its picture."""
        return asyncio.get_running_loop().run_in_executor(self._render_thread, self._draw, motion)

    def _draw(self, motion: np.ndarray) -> Picture:
        rgb = self._renderer.render(motion)
        quality = self._jpeg_quality
        return Picture(rgb, encode_jpeg(rgb, quality) if quality is not None else None)

    def record_stamps(self) -> None:
        """Nothing to record: the engine's own timings see this backend's work."""

    def take_stamps(self, step: int) -> WorkerStamps:
        return None, None, None, None

    def close(self) -> None:
        """Wait for the work in flight, then stop both threads."""
        for thread in (self._motion_thread, self._render_thread):
            thread.shutdown(wait=True, cancel_futures=True)
