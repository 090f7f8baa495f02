"""WAV files of our own format: 16 kHz mono 16-bit PCM (the training corpus, captures).

Reading anything else is an error naming what the file is; for audio of any format and rate
use ``audio.decode.load_audio``.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from audio.clocks import SAMPLE_RATE


def write_wav(path: str | Path, samples: np.ndarray) -> None:
    """(N,) float32 in [-1, 1] at 16 kHz -> a 16-bit mono WAV (clipped)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(SAMPLE_RATE)
        fh.writeframes(pcm.tobytes())


def read_wav(path: str | Path) -> np.ndarray:
    """A 16 kHz mono 16-bit WAV as written here -> (N,) float32."""
    with wave.open(str(path), "rb") as fh:
        if fh.getframerate() != SAMPLE_RATE or fh.getnchannels() != 1 or fh.getsampwidth() != 2:
            raise ValueError(
                f"{path}: {fh.getframerate()} Hz, {fh.getnchannels()} channels, "
                f"{8 * fh.getsampwidth()}-bit; corpus audio must be {SAMPLE_RATE} Hz mono 16-bit"
            )
        data = fh.readframes(fh.getnframes())
    return np.frombuffer(data, "<i2").astype(np.float32) / 32767.0
