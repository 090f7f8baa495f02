"""The messages between a ``FramePool`` (the parent) and its frame worker processes (``host``),
one frozen dataclass each, sent pickled over the worker's duplex pipe.

To a worker:   ``Open`` · ``Step`` · ``Close`` · ``Stop``
From a worker: ``Ready`` · ``Opened`` · ``Motion`` · ``Video`` · ``Closed`` · ``Failed``

Pictures never travel here: a worker draws them into the session's shared-memory slots and
``Video`` names the slot. On the pipe a message is a plain tuple, ``(kind number, *fields)``
(``encode``/``decode``): pickling a dataclass names its class, which the receiver must look up
on every message, and that made a frame's messages take half again as long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from service.realtime.parts import SessionSpec


class _Message:
    __slots__ = ()


# ---- parent -> worker ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Open(_Message):
    """Build session ``sid`` from ``spec`` (on a thread beside the frame loop)."""

    sid: int
    spec: SessionSpec


@dataclass(frozen=True, slots=True)
class Step(_Message):
    """One frame of session ``sid``: its audio in, its motion out, and a picture if ``render``."""

    sid: int
    seq: int
    audio: np.ndarray  # (SAMPLES_PER_FRAME,) float32
    partner: np.ndarray  # (SAMPLES_PER_FRAME,) float32
    triggers: tuple[str, ...]
    render: bool


@dataclass(frozen=True, slots=True)
class Close(_Message):
    sid: int


@dataclass(frozen=True, slots=True)
class Stop(_Message):
    """Leave: the pool is closing."""


ToWorker = Open | Step | Close | Stop

# ---- worker -> parent ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ready(_Message):
    """The worker imported its parts and takes sessions."""

    pid: int


@dataclass(frozen=True, slots=True)
class Opened(_Message):
    sid: int
    latency_frames: int
    shm_name: str
    shape: tuple[int, ...]  # (H, W, 3) of one picture


@dataclass(frozen=True, slots=True)
class Motion(_Message):
    sid: int
    seq: int
    motion: np.ndarray  # (NUM_CHANNELS,) float32
    state: str  # the conversation state the motion stream tracks
    received_at: float  # the worker's monotonic clock
    stepped_at: float


@dataclass(frozen=True, slots=True)
class Video(_Message):
    sid: int
    seq: int
    slot: int  # which shared-memory picture slot holds it
    started_at: float
    rendered_at: float


@dataclass(frozen=True, slots=True)
class Closed(_Message):
    sid: int


@dataclass(frozen=True, slots=True)
class Failed(_Message):
    """Session ``sid`` could not be built or failed; ``reason`` says why (type, text, place)."""

    sid: int
    reason: str


FromWorker = Ready | Opened | Motion | Video | Closed | Failed


_KINDS: tuple[type[_Message], ...] = (
    Open, Step, Close, Stop, Ready, Opened, Motion, Video, Closed, Failed
)  # fmt: skip
_NUMBERS = {kind: number for number, kind in enumerate(_KINDS)}


def encode(message: ToWorker | FromWorker) -> tuple[object, ...]:
    """The message as sent through the pipe: (kind number, *fields in order)."""
    return (_NUMBERS[type(message)], *(getattr(message, name) for name in message.__slots__))


def decode(wire: tuple[Any, ...]) -> Any:
    """The message ``encode`` made ``wire`` from; ValueError for anything else."""
    try:
        kind = _KINDS[wire[0]]
        return kind(*wire[1:])
    except (IndexError, TypeError) as exc:
        raise ValueError(f"not a frame worker message: {wire!r:.80} ({exc})") from None
