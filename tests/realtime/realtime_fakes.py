"""Small local parts for the session engine tests: a renderer that paints the motion it was given
(so a test can read back which motion frame a video frame shows) and a motion stream with the
world model's lookahead that writes each input frame's loudness into jawOpen."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from energy_fake import LoudnessTurns

from avatars.motion import NUM_CHANNELS, index
from service.realtime.parts import SessionParts, SessionSpec

JAW = index("jawOpen")


class PaintRenderer:
    """Renders jawOpen as the grey level of a small frame: (H, W, 3) uint8."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.calls = 0

    def render(self, motion: np.ndarray) -> np.ndarray:
        self.calls += 1
        level = round(float(np.clip(motion[JAW], 0, 1)) * 255)
        return np.full((self.size, self.size, 3), level, dtype=np.uint8)


class PeakLookaheadStream:
    """MotionStream with ``latency_frames`` lookahead: jawOpen = the frame's peak |sample|."""

    def __init__(self, latency_frames: int = 2) -> None:
        self.latency_frames = latency_frames
        self.triggers: list[str] = []
        self._held: deque[tuple[float, str]] = deque()  # (peak, state) of each frame pushed
        self._turns = LoudnessTurns()
        self.state = "idle"

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        self._turns.update(self_audio, partner_audio)
        self._held.append((float(np.max(np.abs(self_audio))), self._turns.state))
        if len(self._held) <= self.latency_frames:
            return None
        motion = np.zeros(NUM_CHANNELS, np.float32)
        motion[JAW], self.state = self._held.popleft()
        return motion

    def flush(self) -> list[np.ndarray]:
        return []

    def trigger(self, event: str) -> None:
        self.triggers.append(event)

    def reset(self, *, seed: int | None = None) -> None:
        self._held.clear()
        self._turns = LoudnessTurns()
        self.state = "idle"


def build_paint_parts(spec: SessionSpec) -> SessionParts:
    """A ``FramePool`` parts builder (module level: the worker imports it): the fakes above,
    ``spec.size`` ("NxN") pixels square. A character folder named "broken" cannot be built, one
    named "slow" takes 1.5 s."""
    if spec.character_folder == "broken":
        raise ValueError("character 'broken' has no rig")
    if spec.character_folder == "slow":
        time.sleep(1.5)
    side = int(spec.size.split("x")[0])
    return SessionParts(motion=PeakLookaheadStream(2), renderer=PaintRenderer(side))
