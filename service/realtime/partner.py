"""What the avatar hears: real-time audio from any number of sources (the people in a room),
each resampled and framed on its own, mixed one frame per tick."""

from __future__ import annotations

from collections import deque

import numpy as np

from audio.clocks import SAMPLES_PER_FRAME
from service.realtime.ingest import AudioIngest, PcmChunk

_SILENCE = np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)


class PartnerMix:
    def __init__(self, *, max_frames: int) -> None:
        if max_frames < 1:
            raise ValueError(f"max_frames must be >= 1, got {max_frames}")
        self._max_frames = max_frames
        self._ingest: dict[str, AudioIngest] = {}
        self._frames: dict[str, deque[np.ndarray]] = {}

    def push(self, chunk: PcmChunk, sample_rate: int, channels: int, *, source: str) -> None:
        """Only the newest ``max_frames`` frames per source are kept, so the listener stays
        current instead of lagging behind a burst."""
        ingest = self._ingest.setdefault(source, AudioIngest())
        queue = self._frames.setdefault(source, deque())
        for frame in ingest.push(chunk, sample_rate, channels):
            queue.append(frame.samples)
        while len(queue) > self._max_frames:
            queue.popleft()

    def remove(self, source: str) -> None:
        self._ingest.pop(source, None)
        self._frames.pop(source, None)

    def next_frame(self) -> np.ndarray:
        """The next frame of every source, summed; silence when nobody speaks. (SAMPLES_PER_FRAME,)"""
        frames = [queue.popleft() for queue in self._frames.values() if queue]
        if not frames:
            return _SILENCE
        if len(frames) == 1:
            return frames[0]
        return np.clip(np.sum(frames, axis=0), -1.0, 1.0).astype(np.float32)
