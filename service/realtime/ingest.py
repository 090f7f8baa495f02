"""Audio entering a session: any chunk size, rate, channel count or sample format in; whole
16 kHz video frames (SAMPLES_PER_FRAME samples) out, each stamped with the time it completed.

The format handling (bytes of 16-bit PCM, int16 or float arrays, interleaved channels) and the
framing are done here; the rate conversion is the audio package's (libswresample, streaming), so
live audio and files are resampled the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from audio.clocks import SAMPLE_RATE, SAMPLES_PER_FRAME
from audio.resample import check_sample_rate, new_resampler, resample_chunk

MAX_CHANNELS = 8
MIN_RATE = 8_000


class AudioFormatError(ValueError):
    """A chunk of live audio in a format the session cannot take."""


@dataclass
class AudioFrameIn:
    """One video frame of 16 kHz audio. samples: (SAMPLES_PER_FRAME,) float32."""

    samples: np.ndarray
    arrived_at: float
    """Monotonic time at which the last sample of this frame arrived."""
    n_valid: int = SAMPLES_PER_FRAME
    """Samples that are real audio; the rest is padding added at a segment end."""


def to_float_mono(chunk: bytes | bytearray | memoryview | np.ndarray, channels: int) -> np.ndarray:
    """Any PCM chunk to float32 mono in [-1, 1]. bytes are 16-bit little-endian interleaved.

    arrays may be (N,) interleaved or (N, channels); int16 is scaled, float passes through.
    Returns (N,) float32.
    """
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFormatError(f"channels must be 1..{MAX_CHANNELS}, got {channels}")
    if isinstance(chunk, bytes | bytearray | memoryview):
        raw = bytes(chunk)
        if len(raw) % (2 * channels):
            raise AudioFormatError(
                f"{len(raw)} bytes is not a whole number of 16-bit samples for {channels} channel(s)"
            )
        array: np.ndarray = np.frombuffer(raw, dtype="<i2")
    elif isinstance(chunk, np.ndarray):
        array = chunk
    else:
        raise AudioFormatError(
            f"audio chunk must be bytes or a numpy array, got {type(chunk).__name__}"
        )
    if array.dtype == np.int16:
        samples = array.astype(np.float32) / 32768.0
    elif np.issubdtype(array.dtype, np.floating):
        samples = array.astype(np.float32, copy=False)
    else:
        raise AudioFormatError(f"audio samples must be int16 or float, got {array.dtype}")
    if samples.ndim == 2:
        if samples.shape[1] != channels:
            raise AudioFormatError(
                f"audio array has {samples.shape[1]} channels, but channels={channels}"
            )
        samples = samples.reshape(-1)
    elif samples.ndim != 1:
        raise AudioFormatError(f"audio array must be 1-D or (N, channels), got {samples.shape}")
    if samples.size % channels:
        raise AudioFormatError(f"{samples.size} samples do not split into {channels} channels")
    if not np.all(np.isfinite(samples)):
        raise AudioFormatError("audio chunk contains NaN or infinite samples")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    return np.ascontiguousarray(samples, dtype=np.float32)


class AudioIngest:
    """Chunks of any size in, whole 16 kHz frames out (with their arrival time)."""

    def __init__(self, *, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._rate: int | None = None
        self._resampler: av.AudioResampler | None = None
        self._pending = np.zeros(0, np.float32)  # (n < SAMPLES_PER_FRAME,) 16 kHz

    def push(
        self, chunk: bytes | bytearray | memoryview | np.ndarray, sample_rate: int, channels: int
    ) -> list[AudioFrameIn]:
        rate = check_sample_rate(sample_rate)
        if rate < MIN_RATE:
            raise AudioFormatError(f"sample_rate must be at least {MIN_RATE} Hz, got {sample_rate}")
        mono = to_float_mono(chunk, channels)  # (N,) at rate
        if rate != self._rate:
            # a new input rate: what the old resampler holds belongs to the old stream
            self._pending = np.concatenate([self._pending, *self._drain(None)])
            self._rate = rate
            self._resampler = None if rate == SAMPLE_RATE else new_resampler(rate)
        return self._frames(self._drain(mono))

    def _drain(self, mono: np.ndarray | None) -> list[np.ndarray]:
        """Resample (None flushes); the 16 kHz pieces ready now."""
        if self._resampler is None:
            return [] if mono is None else [mono]
        assert self._rate is not None
        if mono is not None and mono.size == 0:
            return []
        return resample_chunk(self._resampler, mono, self._rate)

    def _frames(self, pieces: list[np.ndarray]) -> list[AudioFrameIn]:
        samples = np.concatenate([self._pending, *pieces]) if pieces else self._pending
        n_whole = samples.size // SAMPLES_PER_FRAME * SAMPLES_PER_FRAME
        self._pending = samples[n_whole:].copy()
        arrived = self._now()
        return [
            AudioFrameIn(samples=frame.copy(), arrived_at=arrived)
            for frame in samples[:n_whole].reshape(-1, SAMPLES_PER_FRAME)
        ]

    def flush(self) -> list[AudioFrameIn]:
        """End of a segment: the resampler's tail and the last partial frame, zero-padded."""
        frames = self._frames(self._drain(None))
        if self._pending.size:
            padded = np.zeros(SAMPLES_PER_FRAME, np.float32)
            padded[: self._pending.size] = self._pending
            frames.append(
                AudioFrameIn(samples=padded, arrived_at=self._now(), n_valid=self._pending.size)
            )
        self.reset()
        return frames

    def reset(self) -> None:
        """Drop everything held back (after an interruption)."""
        self._rate = None
        self._resampler = None
        self._pending = np.zeros(0, np.float32)
