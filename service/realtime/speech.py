"""The speech a session has been given to say: chunks in, whole frames out one per tick, each
labelled with its utterance (segment) and its place in it; the end of an utterance marks its
last frame wherever that frame is by then."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from audio.clocks import FPS, SAMPLES_PER_FRAME
from service.realtime.frames import InputSlot, OutputFrame
from service.realtime.ingest import AudioFrameIn, AudioIngest, PcmChunk
from service.realtime.options import SpeechQueueFullError

SILENCE = np.zeros(SAMPLES_PER_FRAME, dtype=np.float32)


class SpeechQueue:
    def __init__(self, *, max_queued_seconds: float) -> None:
        self._max_seconds = max_queued_seconds
        self._ingest = AudioIngest()
        self._frames: deque[InputSlot] = deque()
        self.segment = 0
        """Id of the utterance being received (or the last one)."""
        self._open = False
        self._samples = 0  # 16 kHz samples of the open utterance queued so far
        self._end_pending: int | None = None  # an utterance whose end came after its last frame

    def __len__(self) -> int:
        return len(self._frames)

    def push(self, chunk: PcmChunk, sample_rate: int, channels: int) -> None:
        frames = self._ingest.push(chunk, sample_rate, channels)
        if len(chunk) and not self._open:
            self._start_segment()  # at its first sample, so ``segment`` names it at once
        self._queue(frames)

    def end(self, taken: Sequence[InputSlot | OutputFrame]) -> None:
        """The current utterance is complete: its last partial frame is queued (padded) and its
        last frame marked, here or among ``taken`` (frames already taken, oldest first)."""
        frames = self._ingest.flush()
        if frames and not self._open:
            self._start_segment()
        self._queue(frames)
        if not self._open:
            return
        if self._frames and self._frames[-1].segment == self.segment:
            self._frames[-1].segment_end = True
        else:
            for item in reversed(taken):  # newest first
                if item.speech and item.segment == self.segment:
                    item.segment_end = True
                    break
            else:
                # all of it has left already: the next frame out carries the end
                self._end_pending = self.segment
        self._open = False

    def clear(self) -> None:
        """Drop everything queued and held back (an interruption)."""
        self._frames.clear()
        self._ingest.reset()
        self._end_pending = None
        self._open = False

    def next_frame(self) -> InputSlot:
        """The next frame to say, or silence (which may carry a late utterance end)."""
        if self._frames:
            return self._frames.popleft()
        if self._end_pending is not None:
            segment, self._end_pending = self._end_pending, None
            return InputSlot(SILENCE, False, segment, 0, None, segment_end=True)
        return InputSlot(SILENCE, False, 0, 0, None)

    def _start_segment(self) -> None:
        self.segment += 1
        self._open = True
        self._samples = 0

    def _queue(self, frames: list[AudioFrameIn]) -> None:
        limit = int(self._max_seconds * FPS)
        if len(self._frames) + len(frames) > limit:
            raise SpeechQueueFullError(
                f"speech queue would hold {(len(self._frames) + len(frames)) / FPS:.1f} s; "
                f"at most {self._max_seconds:g} s may be queued"
            )
        for frame in frames:
            self._frames.append(
                InputSlot(
                    frame.samples,
                    True,
                    self.segment,
                    frame.n_valid,
                    frame.arrived_at,
                    offset=self._samples,
                )
            )
            self._samples += frame.n_valid
