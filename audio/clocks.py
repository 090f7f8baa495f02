"""The project's clocks: every rate and frame size is derived here, never repeated elsewhere."""

from __future__ import annotations

SAMPLE_RATE = 16_000
"""Internal audio rate (Hz), mono."""

FPS = 25
"""Video frames per second."""

HOP_LENGTH = 160
"""Samples between feature frames."""

N_FFT = 400
"""STFT window (25 ms at 16 kHz)."""

N_MELS = 80
"""Mel bands of the log-mel features."""

LOOKAHEAD_FRAMES = 2
"""Video frames of audio the motion model may see ahead of the frame it emits (80 ms)."""


def _exact_div(numerator: int, denominator: int, what: str) -> int:
    if numerator % denominator:
        raise ValueError(f"{what}: {numerator} is not divisible by {denominator}")
    return numerator // denominator


SAMPLES_PER_FRAME = _exact_div(SAMPLE_RATE, FPS, "samples per video frame")  # 640
FEATURE_RATE = _exact_div(SAMPLE_RATE, HOP_LENGTH, "feature rate")  # 100 Hz
FEATURES_PER_FRAME = _exact_div(FEATURE_RATE, FPS, "feature frames per video frame")  # 4
_exact_div(SAMPLES_PER_FRAME, HOP_LENGTH, "hops per video frame")
FRAME_SECONDS = 1.0 / FPS
LOOKAHEAD_SAMPLES = LOOKAHEAD_FRAMES * SAMPLES_PER_FRAME
LOOKAHEAD_MS = LOOKAHEAD_FRAMES * 1000 // FPS  # 80

VAD_WINDOW = 512
"""silero-vad window at 16 kHz: 32 ms."""


def frames_for_samples(n_samples: int) -> int:
    """Video frames that cover ``n_samples`` of 16 kHz audio (the last partial frame counts)."""
    return -(-n_samples // SAMPLES_PER_FRAME)


def samples_for_frames(n_frames: int) -> int:
    return n_frames * SAMPLES_PER_FRAME
