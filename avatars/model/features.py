"""What the world model hears: ``audio.analyzer``'s per-frame analysis, offline and streaming alike.

The model has no front-end of its own: per 40 ms frame it takes the FEATURES_PER_FRAME causal
log-mel rows of each speaker (``audio.features``), silero's speech probability of each
(``audio.vad``) and the conversation state (``audio.turns``), all from one
``audio.analyzer.StreamAnalyzer``. Training features are computed by pushing whole tracks through
that same analyzer frame by frame, so they equal the streaming path by construction; as silero
costs about a second per 45-s dialogue, they are cached beside each corpus folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.analyzer import FrameAnalysis, StreamAnalyzer
from audio.clocks import FEATURES_PER_FRAME, N_MELS, SAMPLES_PER_FRAME
from audio.features import log_mel
from avatars.model.config import FRONT_END, VAD
from avatars.vocabulary import STATES

log = logging.getLogger(__name__)

CACHE_NAME = "features.npz"
"""Cached analysis of a corpus folder's two tracks (gitignored with the corpus)."""
SILENCE_LOG_MEL = float(log_mel(np.zeros(SAMPLES_PER_FRAME, np.float32))[0, 0])
"""A log-mel row of digital silence (the front-end's floor): padding after the end of a track."""


@dataclass(frozen=True)
class FrameFeatures:
    """One frame as the model takes it."""

    self_mel: np.ndarray  # (FEATURES_PER_FRAME, N_MELS) float32
    partner_mel: np.ndarray  # (FEATURES_PER_FRAME, N_MELS) float32
    activity: np.ndarray  # (2,) float32 speech probability of self and partner
    state: int  # index into STATES


def frame_features(analysis: FrameAnalysis) -> FrameFeatures:
    """``StreamAnalyzer.push``'s result -> the model's inputs for that frame."""
    return FrameFeatures(
        self_mel=analysis.self_features,
        partner_mel=analysis.partner_features,
        activity=np.array([analysis.self_vad, analysis.partner_vad], np.float32),
        state=STATES.index(analysis.state.value),
    )


def conversation_features(
    self_audio: np.ndarray, partner_audio: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole tracks (same length, whole frames) -> self mel (T, 4, 80), partner mel (T, 4, 80),
    activity (T, 2) and state (T,) int64, computed by the streaming analyzer itself."""
    if self_audio.shape != partner_audio.shape:
        raise ValueError(f"tracks differ in length: {self_audio.shape} vs {partner_audio.shape}")
    if self_audio.ndim != 1 or self_audio.shape[0] % SAMPLES_PER_FRAME:
        raise ValueError(
            f"audio of shape {self_audio.shape} is not a whole number of "
            f"{SAMPLES_PER_FRAME}-sample frames"
        )
    n = self_audio.shape[0] // SAMPLES_PER_FRAME
    own = self_audio.reshape(n, SAMPLES_PER_FRAME)
    other = partner_audio.reshape(n, SAMPLES_PER_FRAME)
    self_mel = np.zeros((n, FEATURES_PER_FRAME, N_MELS), np.float32)
    partner_mel = np.zeros_like(self_mel)
    activity = np.zeros((n, 2), np.float32)
    state = np.zeros(n, np.int64)
    analyzer = StreamAnalyzer()
    for t in range(n):
        frame = frame_features(analyzer.push(own[t], other[t]))
        self_mel[t], partner_mel[t] = frame.self_mel, frame.partner_mel
        activity[t], state[t] = frame.activity, frame.state
    return self_mel, partner_mel, activity, state


def cached_conversation_features(
    folder: Path, self_audio: np.ndarray, partner_audio: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``conversation_features``, read from ``folder/features.npz`` when it was computed by this
    front-end from tracks of this length, else computed and written there."""
    path = folder / CACHE_NAME
    frames = self_audio.shape[0] // SAMPLES_PER_FRAME
    if path.is_file():
        with np.load(path) as cached:
            if (str(cached["front_end"]) == FRONT_END and str(cached["vad"]) == VAD
                    and int(cached["frames"]) == frames):  # fmt: skip
                return (cached["self_mel"], cached["partner_mel"], cached["activity"],
                        cached["state"])  # fmt: skip
    features = conversation_features(self_audio, partner_audio)
    try:
        np.savez(path, self_mel=features[0], partner_mel=features[1], activity=features[2],
                 state=features[3], front_end=FRONT_END, vad=VAD, frames=frames)  # fmt: skip
    except OSError as exc:  # a read-only corpus still trains, only slower next time
        log.warning("feature cache not written folder=%s error=%s", folder, exc)
    return features


def lookahead_windows(mel: np.ndarray, lookahead: int, pad_value: float) -> np.ndarray:
    """(T, 4, M) -> (T, (1 + lookahead) * 4, M): each frame with the rows of the frames after it."""
    pad = np.full((lookahead,) + mel.shape[1:], pad_value, np.float32)
    padded = np.concatenate([mel, pad])
    stacked = [padded[i : i + mel.shape[0]] for i in range(lookahead + 1)]
    return np.concatenate(stacked, axis=1)
