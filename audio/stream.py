"""Streaming input: PCM chunks of any size, rate and layout -> 16 kHz mono -> exact video frames.

``StreamResampler`` turns whatever arrives (int16 or float, mono or stereo, 8–48 kHz, bytes or
arrays, empty chunks included) into 16 kHz float32 mono, repairing what can be repaired: NaN/inf
become silence and are counted, out-of-range floats are clipped and counted, a DC offset is
removed. ``FrameChunker`` cuts any run of samples into exact SAMPLES_PER_FRAME frames.
"""

from __future__ import annotations

import logging

import numpy as np
from scipy.signal import lfilter

from audio.clocks import SAMPLE_RATE, SAMPLES_PER_FRAME
from audio.errors import AudioError
from audio.resample import check_sample_rate, new_resampler, resample_chunk

log = logging.getLogger(__name__)

SAMPLE_FORMATS: dict[str, np.dtype] = {"s16": np.dtype("<i2"), "f32": np.dtype("<f4")}
MAX_CHANNELS = 8
DC_CUTOFF_HZ = 5.0
"""The DC blocker's corner: far below speech (~80 Hz and up), fast enough to settle in ~0.1 s."""
_DC_POLE = float(np.exp(-2 * np.pi * DC_CUTOFF_HZ / SAMPLE_RATE))


class StreamResampler:
    """Chunks of PCM in, 16 kHz float32 mono out; output depends only on the samples, not on
    how they were chunked. Resampling holds back 1–2 ms (16 samples at 16 kHz from 22.05–48 kHz,
    32 from 8 kHz) until the next chunk or ``flush``."""

    def __init__(
        self,
        *,
        sample_rate: int,
        channels: int = 1,
        sample_format: str = "s16",
        remove_dc: bool = True,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if (
            isinstance(channels, bool)
            or not isinstance(channels, int)
            or not 1 <= channels <= MAX_CHANNELS
        ):
            raise AudioError(
                f"channels {channels!r} is not supported; accepted: 1 to {MAX_CHANNELS}"
            )
        if sample_format not in SAMPLE_FORMATS:
            raise AudioError(
                f"sample format {sample_format!r} is not supported; accepted: {', '.join(SAMPLE_FORMATS)}"
            )
        self.channels = channels
        self.sample_format = sample_format
        self.remove_dc = remove_dc
        self.nonfinite_samples = 0
        """NaN or infinite input samples replaced by silence so far."""
        self.clipped_samples = 0
        """Float input samples beyond ±1 clipped so far."""
        self._leftover = b""  # bytes of an incomplete sample (frame of all channels)
        self._resampler = (
            None if self.sample_rate == SAMPLE_RATE else new_resampler(self.sample_rate)
        )
        self._dc_state = np.zeros(1)

    def push(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
        """One chunk in (any length, zero included); the 16 kHz samples ready now, (n,) float32."""
        mono = self._to_mono(chunk)
        if self._resampler is None:
            out = mono
        else:
            pieces = resample_chunk(self._resampler, mono, self.sample_rate) if mono.size else []
            out = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        return self._finish(out)

    def flush(self) -> np.ndarray:
        """End of stream: what the resampler still holds. The resampler then starts afresh."""
        self._leftover = b""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        pieces = resample_chunk(self._resampler, None, self.sample_rate)
        self._resampler = new_resampler(self.sample_rate)
        return self._finish(np.concatenate(pieces) if pieces else np.zeros(0, np.float32))

    def _to_mono(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
        if isinstance(chunk, bytes | bytearray | memoryview):
            data = self._leftover + bytes(chunk)
            frame_bytes = SAMPLE_FORMATS[self.sample_format].itemsize * self.channels
            usable = len(data) - len(data) % frame_bytes
            self._leftover = data[usable:]
            samples = np.frombuffer(data[:usable], dtype=SAMPLE_FORMATS[self.sample_format])
        elif isinstance(chunk, np.ndarray):
            samples = chunk
        else:
            raise AudioError(
                f"audio chunk of type {type(chunk).__name__}; expected bytes or a numpy array"
            )
        return self._downmix(self._to_float(samples))

    def _to_float(self, samples: np.ndarray) -> np.ndarray:
        if samples.dtype.kind in "iu":
            # full scale is 2**(bits-1); unsigned PCM (e.g. 8-bit) is centred on that value
            half_range = float(2 ** (samples.dtype.itemsize * 8 - 1))
            centre = half_range if samples.dtype.kind == "u" else 0.0
            return ((samples.astype(np.float64) - centre) / half_range).astype(np.float32)
        if samples.dtype.kind != "f":
            raise AudioError(f"audio samples of dtype {samples.dtype}; expected int16 or float")
        values = samples.astype(np.float32)
        bad = ~np.isfinite(values)
        if bad.any():
            before = self.nonfinite_samples
            self.nonfinite_samples += int(bad.sum())
            # a broken source may send NaN in every chunk: log at each tenfold, not each chunk
            if before == 0 or len(str(self.nonfinite_samples)) > len(str(before)):
                log.warning("non-finite input replaced total=%d", self.nonfinite_samples)
            values = np.where(bad, np.float32(0.0), values)
        over = np.abs(values) > 1.0
        if over.any():
            self.clipped_samples += int(over.sum())
            values = np.clip(values, -1.0, 1.0)
        return values

    def _downmix(self, values: np.ndarray) -> np.ndarray:
        if values.ndim == 2:
            if values.shape[1] != self.channels:
                raise AudioError(
                    f"audio chunk has {values.shape[1]} channels, the stream was opened with {self.channels}"
                )
            return values.mean(axis=1, dtype=np.float32)
        if values.ndim != 1:
            raise AudioError(f"audio chunk of shape {values.shape}; expected (n,) or (n, channels)")
        if self.channels == 1:
            return values
        if values.size % self.channels:
            raise AudioError(
                f"interleaved chunk of {values.size} samples is not a multiple of {self.channels} channels"
            )
        return values.reshape(-1, self.channels).mean(axis=1, dtype=np.float32)

    def _finish(self, out: np.ndarray) -> np.ndarray:
        if not self.remove_dc or out.size == 0:
            return out.astype(np.float32, copy=False)
        # One-pole DC blocker y[n] = x[n] - x[n-1] + a*y[n-1]; its state carries across chunks.
        filtered, self._dc_state = lfilter([1.0, -1.0], [1.0, -_DC_POLE], out, zi=self._dc_state)
        return filtered.astype(np.float32)


class FrameChunker:
    """Any runs of 16 kHz samples in, exact (k, SAMPLES_PER_FRAME) video frames out."""

    def __init__(self, *, frame_size: int = SAMPLES_PER_FRAME) -> None:
        if frame_size <= 0:
            raise AudioError(f"frame size {frame_size} must be positive")
        self.frame_size = frame_size
        self._pending = np.zeros(0, np.float32)

    @property
    def pending(self) -> int:
        """Samples held until a frame is complete."""
        return int(self._pending.shape[0])

    def push(self, samples: np.ndarray) -> np.ndarray:
        """(n,) samples in; (k, frame_size) float32 complete frames out (k may be 0)."""
        joined = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        k = joined.shape[0] // self.frame_size
        self._pending = joined[k * self.frame_size :].copy()
        return joined[: k * self.frame_size].reshape(k, self.frame_size)

    def flush(self) -> np.ndarray:
        """The last partial frame zero-padded, (1, frame_size), or (0, frame_size) if none."""
        if not self.pending:
            return np.zeros((0, self.frame_size), np.float32)
        frame = np.zeros((1, self.frame_size), np.float32)
        frame[0, : self.pending] = self._pending
        self._pending = np.zeros(0, np.float32)
        return frame
