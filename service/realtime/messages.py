"""The messages between a ``FramePool`` (the parent) and its frame worker processes (``host``),
one frozen dataclass each, sent pickled over the worker's duplex pipe.

To a worker:   ``Open`` · ``Step`` · ``Close`` · ``Stop``
From a worker: ``Ready`` · ``Opened`` · ``Motion`` · ``Video`` · ``Closed`` · ``Failed``

Pictures never travel here: a worker draws them into the session's shared-memory slots and
``Video`` names the slot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from service.realtime.parts import SessionSpec

# ---- parent -> worker ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open:
    """Build session ``sid`` from ``spec`` (on a thread beside the frame loop)."""

    sid: int
    spec: SessionSpec


@dataclass(frozen=True, slots=True)
class Step:
    """One frame of session ``sid``: its audio in, its motion out, and a picture if ``render``."""

    sid: int
    seq: int
    audio: np.ndarray  # (SAMPLES_PER_FRAME,) float32
    partner: np.ndarray  # (SAMPLES_PER_FRAME,) float32
    triggers: tuple[str, ...]
    render: bool


@dataclass(frozen=True, slots=True)
class Close:
    sid: int


@dataclass(frozen=True, slots=True)
class Stop:
    """Leave: the pool is closing."""


ToWorker = Open | Step | Close | Stop

# ---- worker -> parent ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker imported its parts and takes sessions."""

    pid: int


@dataclass(frozen=True, slots=True)
class Opened:
    sid: int
    latency_frames: int
    shm_name: str
    shape: tuple[int, ...]  # (H, W, 3) of one picture


@dataclass(frozen=True, slots=True)
class Motion:
    sid: int
    seq: int
    motion: np.ndarray  # (NUM_CHANNELS,) float32
    state: str  # the conversation state the motion stream tracks
    received_at: float  # the worker's monotonic clock
    stepped_at: float


@dataclass(frozen=True, slots=True)
class Video:
    sid: int
    seq: int
    slot: int  # which shared-memory picture slot holds it
    started_at: float
    rendered_at: float


@dataclass(frozen=True, slots=True)
class Closed:
    sid: int


@dataclass(frozen=True, slots=True)
class Failed:
    """Session ``sid`` could not be built or failed; ``reason`` says why (type, text, place)."""

    sid: int
    reason: str


FromWorker = Ready | Opened | Motion | Video | Closed | Failed
