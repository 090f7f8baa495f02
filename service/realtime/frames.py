"""What goes through a session: the renderer it needs, a frame's input on its way through the
motion stream's lookahead, the frame that leaves, and the session's statistics."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class FramePainter(Protocol):
    """What the engine asks of a renderer: only ``render`` (``renderer.FrameRenderer`` is the
    renderers' protocol, with their size and reference; the engine's test fakes paint only)."""

    def render(self, motion: np.ndarray) -> np.ndarray:
        """(NUM_CHANNELS,) motion -> (H, W, 3) uint8 RGB."""
        ...


JPEG_QUALITY = 85
"""Quality of the JPEG pictures a session's frame backend encodes for its viewers (the
WebSocket), when the session's spec asks for them."""


@dataclass(frozen=True, slots=True)
class Picture:
    """A rendered frame: its pixels, and its JPEG when the backend encoded one (in the frame
    worker, beside the render: off the event loop's process)."""

    rgb: np.ndarray
    """(H, W, 3) uint8."""
    jpeg: bytes | None = None


def encode_jpeg(rgb: np.ndarray, quality: int) -> bytes:
    """(H, W, 3) uint8 RGB -> JPEG bytes (OpenCV's libjpeg-turbo)."""
    import cv2

    # a contiguous BGR copy: handed the reversed-stride view rgb[:, :, ::-1], imencode converts
    # it pixel by pixel (2.0 ms a 512x512 frame against 0.7 ms, the same bytes; measured)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding of a session frame failed")
    return jpeg.tobytes()


@dataclass(frozen=True, slots=True)
class StepResult:
    """What one frame's step gives back."""

    motion: np.ndarray
    """(NUM_CHANNELS,) the motion frame."""
    state: str
    """The conversation state the motion stream's analyzer tracks (``avatars.vocabulary.STATES``)."""
    picture: asyncio.Future[Picture] | None
    """The future picture of ``motion``, when one was asked for."""


WorkerStamps = tuple[float | None, float | None, float | None, float | None]
"""A step's (received, stepped, render started, rendered) on the backend's clock, or Nones."""


class FrameBackend(Protocol):
    """Where a session's per-frame work runs: threads in this process (``FrameWorkers``) or a
    worker process of a ``FramePool`` (``PooledFrames``)."""

    clock_phase: float | None
    """Seconds into the frame period at which the session's clock should tick (None: any)."""
    max_renders_in_flight: int
    """Renders that may be asked for before the oldest one's picture is back."""
    video_size: tuple[int, int] | None
    """(width, height) of its pictures, when known before the first one."""

    async def prime(self) -> int:
        """Fill the motion stream's lookahead with silence; returns its ``latency_frames``."""
        ...

    async def step(
        self, audio: np.ndarray, partner: np.ndarray, triggers: list[str], *, render: bool
    ) -> StepResult:
        """(SAMPLES_PER_FRAME,) of each stream in -> the motion, the conversation state and, if
        ``render``, the future picture of that motion. The engine calls it again before an
        earlier call returned (it never waits for a round trip); steps run in call order."""
        ...

    def record_stamps(self) -> None:
        """Keep the timing stamps of every step from now on (a diagnostic, see ``trace.py``)."""
        ...

    def take_stamps(self, step: int) -> WorkerStamps:
        """The stamps of the ``step``-th step (from 1); Nones when not recorded or not back."""
        ...

    def close(self) -> None:
        """Release what the session holds (threads, its place in a worker)."""
        ...


@dataclass
class InputSlot:
    """One video frame's input on its way through the motion stream's lookahead."""

    audio: np.ndarray  # (SAMPLES_PER_FRAME,) float32
    speech: bool
    segment: int
    n_valid: int
    arrived_at: float | None
    segment_end: bool = False
    offset: int = 0  # 16 kHz samples of its segment before this frame


@dataclass
class OutputFrame:
    """One frame leaving the session: its video and its audio, together."""

    video: np.ndarray  # (H, W, 3) uint8 RGB
    audio: np.ndarray  # (SAMPLES_PER_FRAME,) float32, 16 kHz mono
    timestamp: float  # seconds of session media time (frame index / FPS)
    index: int
    speech: bool  # the audio is part of a speech segment (not filler silence)
    segment: int  # id of its segment (0 for filler silence)
    segment_end: bool  # last frame of its segment (silent if the end came late)
    n_valid: int  # real samples in ``audio`` (the rest is padding at a segment end)
    motion: np.ndarray  # (NUM_CHANNELS,) the motion frame that was rendered
    state: str = "idle"  # the conversation state (avatars.vocabulary.STATES) at this frame
    arrived_at: float | None = None  # monotonic arrival of this frame's speech audio
    offset: int = 0  # 16 kHz samples of its segment before this frame
    jpeg: bytes | None = None  # ``video`` as JPEG, when the frame backend encoded it
    fresh: bool = True  # False: its own picture was not ready, it repeats the previous one


@dataclass
class SessionStats:
    frames: int
    missed_deadlines: int
    clock_restarts: int
    dropped_frames: int
    stale_frames: int  # frames that went out with the previous picture (render too slow)
    missed_frames: int  # frames that were late or stale
    queued_seconds: float
    latency_ms_p50: float | None
    latency_ms_p95: float | None
    state: str
    latencies_ms: list[float] = field(default_factory=list, repr=False)
