"""The seam between audio and motion: one streaming interface every consumer uses.

The clip command, sessions and LiveKit all drive the face through a ``MotionStream``: push one
video frame of each audio stream (the avatar's own speech and the partner's), get motion frames
back, ``latency_frames`` behind because the model may look ahead. ``drive_offline`` runs a whole
clip through the same interface.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from audio.clocks import SAMPLES_PER_FRAME, frames_for_samples


class MotionStream(Protocol):
    latency_frames: int
    """How many frames the output trails the input (the audio lookahead)."""

    @property
    def state(self) -> str:
        """The conversation state (``avatars.vocabulary.STATES``) at the frame of the latest
        motion returned, as the stream's own analysis of both voices tracks it
        (``audio.turns.ConversationTracker``): the one source of a session's speaking /
        listening / idle / overlap."""
        ...

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray | None:
        """One frame in: (SAMPLES_PER_FRAME,) float32 16 kHz of each stream.

        Returns the motion frame (NUM_CHANNELS,) for the frame pushed ``latency_frames`` calls
        ago, or None while the lookahead is filling.
        """
        ...

    def flush(self) -> list[np.ndarray]:
        """The frames still held back by the lookahead (the input is padded with silence)."""
        ...

    def trigger(self, event: str) -> None:
        """Request a gesture or emotion (e.g. ``nod``, ``smile``) for the coming frames."""
        ...

    def reset(self, *, seed: int | None = None) -> None:
        """Forget all state and start again, reproducibly when ``seed`` is given."""
        ...


def pad_to_frames(samples: np.ndarray, n_frames: int) -> np.ndarray:
    """Zero-pad (or cut) 16 kHz mono samples to exactly ``n_frames`` video frames. (N,) -> (n_frames * 640,)"""
    target = n_frames * SAMPLES_PER_FRAME
    out = np.zeros(target, dtype=np.float32)
    n = min(target, samples.shape[0])
    out[:n] = samples[:n]
    return out


def drive_offline(
    stream: MotionStream, self_audio: np.ndarray, partner_audio: np.ndarray | None = None
) -> np.ndarray:
    """Run whole tracks through ``stream``; one motion frame per video frame of the longer track.

    self_audio, partner_audio: (N,) float32 at 16 kHz. Returns (T, NUM_CHANNELS).
    """
    partner = np.zeros(0, np.float32) if partner_audio is None else partner_audio
    n_frames = max(frames_for_samples(self_audio.shape[0]), frames_for_samples(partner.shape[0]), 1)
    own = pad_to_frames(self_audio, n_frames).reshape(n_frames, SAMPLES_PER_FRAME)
    other = pad_to_frames(partner, n_frames).reshape(n_frames, SAMPLES_PER_FRAME)
    frames: list[np.ndarray] = []
    for t in range(n_frames):
        out = stream.push(own[t], other[t])
        if out is not None:
            frames.append(out)
    frames.extend(stream.flush())
    if len(frames) != n_frames:
        raise RuntimeError(f"motion stream returned {len(frames)} frames for {n_frames} input frames")
    return np.stack(frames).astype(np.float32)
