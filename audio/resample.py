"""One-shot resampling of a whole signal to the internal rate (libswresample through PyAV)."""

from __future__ import annotations

import av
import numpy as np

from audio.clocks import SAMPLE_RATE
from audio.errors import AudioError

MAX_SAMPLE_RATE = 384_000


def check_sample_rate(sample_rate: object) -> int:
    """The rate as an int, or AudioError naming it and the accepted range."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | float | np.integer):
        raise AudioError(f"sample rate {sample_rate!r} is not a number of Hz")
    if isinstance(sample_rate, float) and not sample_rate.is_integer():
        raise AudioError(f"sample rate {sample_rate!r} Hz is not a whole number of Hz")
    rate = int(sample_rate)
    if not 1 <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"sample rate {sample_rate!r} Hz is impossible; accepted: 1 to {MAX_SAMPLE_RATE} Hz "
            "(typically 8000, 16000, 22050, 24000, 44100 or 48000)"
        )
    return rate


def new_resampler(sample_rate: int) -> av.AudioResampler:
    return av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)


def resample_chunk(
    resampler: av.AudioResampler, mono: np.ndarray | None, sample_rate: int
) -> list[np.ndarray]:
    """Feed (n,) float32 mono at ``sample_rate`` (None flushes); the 16 kHz pieces ready now."""
    if mono is None:
        frames = resampler.resample(None)
    else:
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(mono, dtype=np.float32)[None, :], format="flt", layout="mono"
        )
        frame.sample_rate = sample_rate
        frame.pts = None
        frames = resampler.resample(frame)
    return [f.to_ndarray().reshape(-1) for f in frames]


def resample(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """(N,) float mono at ``sample_rate`` -> (M,) float32 at SAMPLE_RATE, M ≈ N * 16000 / rate."""
    rate = check_sample_rate(sample_rate)
    mono = np.asarray(samples, dtype=np.float32).reshape(-1)
    if rate == SAMPLE_RATE or mono.size == 0:
        return mono.copy()
    resampler = new_resampler(rate)
    pieces = resample_chunk(resampler, mono, rate) + resample_chunk(resampler, None, rate)
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
