"""Per video frame, both streams at once: features, voice activity, conversation state, events.

This is what the world model and the sessions call every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audio.clocks import FEATURES_PER_FRAME, N_MELS, SAMPLES_PER_FRAME
from audio.errors import AudioError
from audio.features import StreamingLogMel
from audio.turns import ConversationState, ConversationTracker, TurnEvent, TurnOptions
from audio.vad import StreamingVad


@dataclass(frozen=True)
class FrameAnalysis:
    frame: int
    self_features: np.ndarray  # (FEATURES_PER_FRAME, N_MELS) float32
    partner_features: np.ndarray  # (FEATURES_PER_FRAME, N_MELS) float32
    self_vad: float
    """Speech probability of the avatar's own audio in this frame."""
    partner_vad: float
    state: ConversationState
    events: tuple[TurnEvent, ...]


def _check_frame(frame: np.ndarray, name: str) -> np.ndarray:
    samples = np.asarray(frame, dtype=np.float32)
    if samples.shape != (SAMPLES_PER_FRAME,):
        raise AudioError(
            f"{name} frame has shape {samples.shape}; expected ({SAMPLES_PER_FRAME},) samples at 16 kHz"
        )
    return samples


class StreamAnalyzer:
    def __init__(self, *, options: TurnOptions | None = None) -> None:
        self._own_features = StreamingLogMel()
        self._partner_features = StreamingLogMel()
        self._vad = StreamingVad(streams=2)  # one model call for both streams
        self._last_vad = np.zeros(2, np.float32)
        self.tracker = ConversationTracker(options=options)

    def push(self, self_frame: np.ndarray, partner_frame: np.ndarray) -> FrameAnalysis:
        """One video frame of each stream, (SAMPLES_PER_FRAME,) float32 16 kHz each."""
        own = _check_frame(self_frame, "self")
        partner = _check_frame(partner_frame, "partner")
        own_features = self._own_features.push(own)
        partner_features = self._partner_features.push(partner)
        windows = self._vad.push(np.stack([own, partner]))  # (2, 0..2)
        # 0–2 VAD windows end inside a 40 ms frame; the strongest speaks for the frame, and a
        # frame in which none ends keeps the last estimate.
        if windows.shape[1]:
            self._last_vad = windows.max(axis=1)
        own_p, partner_p = float(self._last_vad[0]), float(self._last_vad[1])
        events = self.tracker.update(own_p, partner_p)
        assert own_features.shape == partner_features.shape == (FEATURES_PER_FRAME, N_MELS)
        return FrameAnalysis(
            frame=self.tracker.frame,
            self_features=own_features,
            partner_features=partner_features,
            self_vad=own_p,
            partner_vad=partner_p,
            state=self.tracker.state,
            events=events,
        )

    def reset(self) -> None:
        self._own_features.reset()
        self._partner_features.reset()
        self._vad.reset()
        self._last_vad = np.zeros(2, np.float32)
        self.tracker.reset()
