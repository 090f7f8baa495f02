"""Audio entering a session: any chunk size, rate, channel count or sample format in; whole
16 kHz video frames (SAMPLES_PER_FRAME samples) out, each stamped with the time it completed.

The conversion is the audio package's streaming classes (``StreamResampler``, ``FrameChunker``),
so live audio and files are resampled the same way. The DC blocker stays off: this audio is
played back, and the listener should hear what the agent sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from audio.clocks import SAMPLES_PER_FRAME
from audio.errors import AudioError
from audio.stream import FrameChunker, StreamResampler

PcmChunk = bytes | bytearray | memoryview | np.ndarray


class AudioFormatError(AudioError):
    """A chunk of live audio in a format the session cannot take."""


@dataclass
class AudioFrameIn:
    """One video frame of 16 kHz audio. samples: (SAMPLES_PER_FRAME,) float32."""

    samples: np.ndarray
    arrived_at: float
    """Monotonic time at which the last sample of this frame arrived."""
    n_valid: int = SAMPLES_PER_FRAME
    """Samples that are real audio; the rest is padding added at a segment end."""


def _sample_format(chunk: PcmChunk) -> str:
    if isinstance(chunk, np.ndarray) and chunk.dtype.kind == "f":
        return "f32"
    return "s16"  # bytes are 16-bit PCM; integer arrays are scaled by their own dtype


class AudioIngest:
    """Chunks of any size in, whole 16 kHz frames out (with their arrival time)."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._resampler: StreamResampler | None = None
        self._chunker = FrameChunker()

    def push(self, chunk: PcmChunk, sample_rate: int, channels: int) -> list[AudioFrameIn]:
        finite = not isinstance(chunk, np.ndarray) or chunk.dtype.kind != "f"
        if not finite and not np.all(np.isfinite(chunk)):
            raise AudioFormatError("audio chunk contains NaN or infinite samples")
        fmt = _sample_format(chunk)
        current = self._resampler
        if current is None or (current.sample_rate, current.channels, current.sample_format) != (
            sample_rate,
            channels,
            fmt,
        ):
            # a new input format: what the old resampler holds belongs to the old stream
            tail = current.flush() if current is not None else np.zeros(0, np.float32)
            current = self._resampler = StreamResampler(
                sample_rate=sample_rate, channels=channels, sample_format=fmt, remove_dc=False
            )
            self._chunker.push(tail)
        return self._stamp(self._chunker.push(current.push(chunk)))

    def _stamp(
        self, frames: np.ndarray, n_valid_last: int = SAMPLES_PER_FRAME
    ) -> list[AudioFrameIn]:
        """(k, SAMPLES_PER_FRAME) -> k frames stamped now."""
        arrived = self._now()
        out = [AudioFrameIn(samples=f.copy(), arrived_at=arrived) for f in frames]
        if out:
            out[-1].n_valid = n_valid_last
        return out

    def flush(self) -> list[AudioFrameIn]:
        """End of a segment: the resampler's tail and the last partial frame, zero-padded."""
        tail = self._resampler.flush() if self._resampler is not None else np.zeros(0, np.float32)
        frames = self._stamp(self._chunker.push(tail))
        n_partial = self._chunker.pending
        frames += self._stamp(self._chunker.flush(), n_valid_last=n_partial)
        self.reset()
        return frames

    def reset(self) -> None:
        """Drop everything held back (after an interruption)."""
        self._resampler = None
        self._chunker = FrameChunker()
