"""A long synthetic conversation (alternating turns) for benchmarks and the long-run evaluation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from audio.clocks import SAMPLE_RATE, SAMPLES_PER_FRAME

_LINES = (
    "Thanks for coming in today, let me show you what we built.",
    "That sounds great, I have been looking forward to it.",
    "Maybe we should begin with the basics and then move to the harder parts.",
    "Sure, but could you explain how the pricing works first?",
)


def turns(seed: int = 0) -> list[np.ndarray]:
    """A few espeak sentences (16 kHz) to loop."""
    from audio.tts import synthesize

    rng = np.random.default_rng(seed)
    return [synthesize(line, engine="espeak", rate=float(rng.uniform(0.9, 1.2))).samples
            for line in _LINES]  # fmt: skip


def alternating_frames(minutes: float, seed: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(self, partner) 640-sample frames: turns alternate with short pauses for ``minutes``."""
    clips = turns(seed)
    rng = np.random.default_rng(seed)
    total = int(minutes * 60 * SAMPLE_RATE)
    produced = 0
    who = 0
    silence = np.zeros(SAMPLES_PER_FRAME, np.float32)
    while produced < total:
        speech = clips[int(rng.integers(len(clips)))]
        pause = np.zeros(int(rng.uniform(0.3, 1.5) * SAMPLE_RATE), np.float32)
        track = np.concatenate([speech, pause])
        track = np.pad(track, (0, -track.shape[0] % SAMPLES_PER_FRAME))
        for frame in track.reshape(-1, SAMPLES_PER_FRAME):
            yield (frame, silence) if who == 0 else (silence, frame)
            produced += SAMPLES_PER_FRAME
            if produced >= total:
                return
        who = 1 - who
