"""Small local parts for the session engine tests: a renderer that paints the motion it was given
(so a test can read back which motion frame a video frame shows) and a motion stream with the
world model's lookahead that writes each input frame's loudness into jawOpen."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from avatars.motion import NUM_CHANNELS, index

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
        self._held: deque[float] = deque()

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        self._held.append(float(np.max(np.abs(self_audio))))
        if len(self._held) <= self.latency_frames:
            return None
        motion = np.zeros(NUM_CHANNELS, np.float32)
        motion[JAW] = self._held.popleft()
        return motion

    def flush(self) -> list[np.ndarray]:
        return []

    def trigger(self, event: str) -> None:
        self.triggers.append(event)

    def reset(self, *, seed: int | None = None) -> None:
        self._held.clear()


def build_paint_parts(recipe: Any) -> tuple[PeakLookaheadStream, PaintRenderer]:
    """A ``FramePool`` parts builder (module level: the worker imports it): the fakes above,
    ``recipe.size`` pixels square. A character folder named "broken" cannot be built, one named
    "slow" takes 1.5 s."""
    if recipe.character_folder == "broken":
        raise ValueError("character 'broken' has no rig")
    if recipe.character_folder == "slow":
        time.sleep(1.5)
    return PeakLookaheadStream(2), PaintRenderer(int(recipe.size))
