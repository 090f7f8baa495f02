"""What the world model hears: causal log-mel rows, voice activity and the conversation state.

Each feature row ends exactly on a hop boundary (its 400-sample window closes at the end of the
hop), so a video frame's four rows need no audio from the next frame. That keeps streaming and
offline features bit-for-bit the same and leaves all lookahead to the model (LOOKAHEAD_FRAMES).
Voice activity is frame energy above a tracked noise floor; the state follows both activities with
a hang-over so short pauses inside a phrase do not flip it.
"""

from __future__ import annotations

import numpy as np

from audio.clocks import (
    FEATURES_PER_FRAME,
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    SAMPLES_PER_FRAME,
)
from avatars.model.config import STATES

_CONTEXT = N_FFT - HOP_LENGTH  # samples of the previous frame each frame's first row needs
_LOG_FLOOR = 1e-6
_FLOOR_RISE_DB = 0.02  # per frame: the noise floor follows a louder background within seconds
_MIN_FLOOR_DB = -55.0
_ACTIVE_DB = 10.0  # above the floor: clearly voiced
HANGOVER_FRAMES = 8  # 320 ms of silence before a speaker counts as stopped


def _mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular HTK-mel filters from 20 Hz to Nyquist."""
    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)

    edges = mel_to_hz(np.linspace(hz_to_mel(np.array(20.0)), hz_to_mel(np.array(SAMPLE_RATE / 2)),
                                  N_MELS + 2))
    bins = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


_FILTERS = _mel_filterbank()
_WINDOW = np.hanning(N_FFT).astype(np.float32)


def _rows(windows: np.ndarray) -> np.ndarray:
    """(K, N_FFT) windows -> (K, N_MELS) natural-log mel power."""
    spectrum = np.fft.rfft(windows * _WINDOW, axis=-1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32)
    return np.log(power @ _FILTERS.T + _LOG_FLOOR).astype(np.float32)


def log_mel_frames(samples: np.ndarray) -> np.ndarray:
    """Whole track, (T * SAMPLES_PER_FRAME,) float32 16 kHz -> (T, FEATURES_PER_FRAME, N_MELS)."""
    if samples.ndim != 1 or samples.shape[0] % SAMPLES_PER_FRAME:
        raise ValueError(
            f"audio of shape {samples.shape} is not a whole number of {SAMPLES_PER_FRAME}-sample frames"
        )
    padded = np.concatenate([np.zeros(_CONTEXT, np.float32), samples.astype(np.float32)])
    n_rows = samples.shape[0] // HOP_LENGTH
    windows = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP_LENGTH][:n_rows]
    return _rows(windows).reshape(-1, FEATURES_PER_FRAME, N_MELS)


def frame_energy_db(frame: np.ndarray) -> float:
    return float(10.0 * np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-10))


class FrameMel:
    """Streaming ``log_mel_frames``: one 640-sample frame in, its (4, 80) rows out."""

    def __init__(self) -> None:
        self._context = np.zeros(_CONTEXT, np.float32)

    def push(self, frame: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self._context, frame.astype(np.float32)])
        self._context = joined[-_CONTEXT:].copy()
        windows = np.lib.stride_tricks.sliding_window_view(joined, N_FFT)[::HOP_LENGTH]
        return _rows(windows[:FEATURES_PER_FRAME])


class VoiceActivity:
    """Per-frame activity in [0, 1] from energy above a slowly rising noise floor."""

    def __init__(self) -> None:
        self._floor = _MIN_FLOOR_DB

    def push(self, frame: np.ndarray) -> float:
        energy = frame_energy_db(frame)
        self._floor = min(energy, self._floor + _FLOOR_RISE_DB)
        floor = max(self._floor, _MIN_FLOOR_DB)
        return float(np.clip((energy - floor - _ACTIVE_DB) / _ACTIVE_DB + 0.5, 0.0, 1.0))


class StateTracker:
    """Conversation state from both activities, with a hang-over per speaker."""

    def __init__(self) -> None:
        self._silent_for = [HANGOVER_FRAMES, HANGOVER_FRAMES]

    def push(self, self_activity: float, partner_activity: float) -> int:
        talking = []
        for who, activity in enumerate((self_activity, partner_activity)):
            self._silent_for[who] = 0 if activity >= 0.5 else self._silent_for[who] + 1
            talking.append(self._silent_for[who] < HANGOVER_FRAMES)
        name = {(False, False): "idle", (True, False): "speaking", (False, True): "listening",
                (True, True): "overlap"}[(talking[0], talking[1])]  # fmt: skip
        return STATES.index(name)


def conversation_features(
    self_audio: np.ndarray, partner_audio: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole tracks (same length, whole frames) -> self mel (T, 4, 80), partner mel (T, 4, 80),
    activity (T, 2) and state (T,) int64, exactly as the streaming path computes them."""
    if self_audio.shape != partner_audio.shape:
        raise ValueError(f"tracks differ in length: {self_audio.shape} vs {partner_audio.shape}")
    self_mel, partner_mel = log_mel_frames(self_audio), log_mel_frames(partner_audio)
    n = self_mel.shape[0]
    own = self_audio.reshape(n, SAMPLES_PER_FRAME)
    other = partner_audio.reshape(n, SAMPLES_PER_FRAME)
    vads, tracker = (VoiceActivity(), VoiceActivity()), StateTracker()
    activity = np.zeros((n, 2), np.float32)
    state = np.zeros(n, np.int64)
    for t in range(n):
        activity[t] = (vads[0].push(own[t]), vads[1].push(other[t]))
        state[t] = tracker.push(float(activity[t, 0]), float(activity[t, 1]))
    return self_mel, partner_mel, activity, state


def lookahead_windows(mel: np.ndarray, lookahead: int, pad_value: float) -> np.ndarray:
    """(T, 4, M) -> (T, (1 + lookahead) * 4, M): each frame with the rows of the frames after it."""
    pad = np.full((lookahead,) + mel.shape[1:], pad_value, np.float32)
    padded = np.concatenate([mel, pad])
    stacked = [padded[i : i + mel.shape[0]] for i in range(lookahead + 1)]
    return np.concatenate(stacked, axis=1)
