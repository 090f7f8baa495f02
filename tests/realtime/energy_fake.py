"""A test fake: a simple audio-energy motion driver standing in for the world model.

It knows nothing about phonemes. The jaw follows the loudness (RMS envelope) of the avatar's own
speech relative to its recent peak (so loud and quiet recordings both work), with a fast attack,
a slower release and a noise gate so the mouth is shut in silence.
Around that it keeps the face alive: blinks every 2–6 s, a slow head sway, breathing, a small nod
when the avatar starts to speak and when the partner finishes a phrase. Deterministic for a seed.
"""

from __future__ import annotations

import math

import numpy as np

from audio.clocks import FPS, SAMPLES_PER_FRAME
from audio.turns import ConversationTracker
from avatars.motion import index, neutral

GATE_DB = -45.0
"""Frames quieter than this (dBFS RMS) count as silence: the mouth closes."""
RANGE_DB = 20.0
"""The jaw spans this many dB below the running speech peak: vowels open it, consonants barely."""
PEAK_DECAY_DB = 0.1
"""Per frame fall of the running peak (2.5 dB/s), so a quieter passage still opens the mouth."""
PEAK_FLOOR_DB = -35.0
"""The running peak never falls below this, so faint noise above the gate stays a closed mouth."""
ATTACK = 0.7
"""Fraction of the gap to the target closed per frame while the level rises (fast)."""
RELEASE = 0.35
"""... and while it falls (slower, so the mouth does not chatter)."""
JAW_GAIN = 0.6
CLOSED_BELOW = 0.03
"""Envelope values below this snap to 0 so that silence shows a closed mouth, not a slit."""
ONSET_SILENCE_FRAMES = FPS // 2
"""Silence needed before speech counts as a new onset (and earns a nod)."""
PHRASE_FRAMES = FPS
"""Partner speech at least this long, then silence, counts as a phrase end (nod)."""

BLINK_PROFILE = (0.45, 1.0, 1.0, 0.6, 0.25)
NOD_FRAMES = 12
NOD_DEGREES = 4.0
SMILE_FRAMES = 2 * FPS
EVENTS = ("nod", "blink", "smile")

_JAW = index("jawOpen")
_FUNNEL = index("mouthFunnel")
_LOWER = (index("mouthLowerDownLeft"), index("mouthLowerDownRight"))
_BLINK = (index("eyeBlinkLeft"), index("eyeBlinkRight"))
_SMILE = (index("mouthSmileLeft"), index("mouthSmileRight"))
_PITCH, _YAW, _ROLL = index("headPitch"), index("headYaw"), index("headRoll")
_HEAD_Y = index("headY")
_SHRUG = index("bodyShrug")


def rms_db(samples: np.ndarray) -> float:
    """RMS level of a block in dBFS (silence is -120)."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return 10.0 * math.log10(max(power, 1e-12))


class LoudnessTurns:
    """The fakes' stand-in for the world model's analysis: the real ``ConversationTracker``,
    with "speech" wherever a frame is louder than ``GATE_DB`` (instead of a VAD)."""

    def __init__(self) -> None:
        self.tracker = ConversationTracker()

    def update(self, own: np.ndarray, partner: np.ndarray) -> None:
        self.tracker.update(*(float(rms_db(block) > GATE_DB) for block in (own, partner)))

    @property
    def state(self) -> str:
        return str(self.tracker.state.value)


class EnergyMotionStream:
    """``MotionStream`` driven by the loudness of the avatar's own audio. No lookahead."""

    latency_frames = 0

    def __init__(self, *, seed: int | None = None) -> None:
        self.reset(seed=seed)

    def reset(self, *, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._turns = LoudnessTurns()
        self._t = 0
        self._envelope = 0.0
        self._peak_db: float | None = None  # set by the first speech frame
        self._self_silent_frames = ONSET_SILENCE_FRAMES
        self._partner_speech_frames = 0
        self._next_blink = self._draw_blink_gap()
        self._blink_at: int | None = None
        self._nod_at: int | None = None
        self._smile_until = -1
        # Sway: per channel, (amplitude in degrees, frequency in Hz, phase).
        self._sway = [
            (channel, amp, self._rng.uniform(0.07, 0.2), self._rng.uniform(0, 2 * math.pi))
            for channel, amp in ((_YAW, 2.5), (_PITCH, 1.2), (_ROLL, 1.0))
        ]
        self._breath_phase = self._rng.uniform(0, 2 * math.pi)

    def _draw_blink_gap(self) -> int:
        return self._t + int(self._rng.uniform(2.0, 6.0) * FPS)

    def trigger(self, event: str) -> None:
        if event == "nod":
            self._nod_at = self._t
        elif event == "blink":
            self._blink_at = self._t
        elif event == "smile":
            self._smile_until = self._t + SMILE_FRAMES
        else:
            raise ValueError(f"unknown event {event!r}; this driver knows {', '.join(EVENTS)}")

    def push(self, self_audio: np.ndarray, partner_audio: np.ndarray) -> np.ndarray:
        for name, block in (("self_audio", self_audio), ("partner_audio", partner_audio)):
            if np.shape(block) != (SAMPLES_PER_FRAME,):
                raise ValueError(
                    f"{name} has shape {np.shape(block)}; push one frame of "
                    f"({SAMPLES_PER_FRAME},) samples at 16 kHz"
                )
        frame = neutral()
        self._turns.update(self_audio, partner_audio)
        self._mouth(frame, rms_db(self_audio))
        self._listen(rms_db(partner_audio))
        self._blink(frame)
        self._head(frame)
        if self._t <= self._smile_until:
            frame[list(_SMILE)] = 0.4
        self._t += 1
        return frame

    def flush(self) -> list[np.ndarray]:
        return []  # no lookahead, nothing held back

    @property
    def state(self) -> str:
        return self._turns.state

    # ---- parts of one frame ---------------------------------------------------------------------

    def _mouth(self, frame: np.ndarray, level_db: float) -> None:
        speaking = level_db > GATE_DB
        target = 0.0
        if speaking:
            decayed = level_db if self._peak_db is None else self._peak_db - PEAK_DECAY_DB
            self._peak_db = max(level_db, decayed, PEAK_FLOOR_DB)
            target = float(np.clip((level_db - self._peak_db + RANGE_DB) / RANGE_DB, 0.0, 1.0))
        rate = ATTACK if target > self._envelope else RELEASE
        self._envelope += rate * (target - self._envelope)
        if self._envelope < CLOSED_BELOW:
            self._envelope = 0.0
        if speaking:
            if self._self_silent_frames >= ONSET_SILENCE_FRAMES:
                self._nod_at = self._t  # a small nod as the avatar starts to talk
            self._self_silent_frames = 0
        else:
            self._self_silent_frames += 1
        opening = JAW_GAIN * self._envelope
        frame[_JAW] = opening
        frame[_FUNNEL] = 0.15 * self._envelope
        frame[list(_LOWER)] = 0.25 * self._envelope

    def _listen(self, partner_db: float) -> None:
        if partner_db > GATE_DB:
            self._partner_speech_frames += 1
            return
        if self._partner_speech_frames >= PHRASE_FRAMES:
            self._nod_at = self._t  # acknowledge the end of the partner's phrase
        self._partner_speech_frames = 0

    def _blink(self, frame: np.ndarray) -> None:
        if self._blink_at is None and self._t >= self._next_blink:
            self._blink_at = self._t
        if self._blink_at is None:
            return
        step = self._t - self._blink_at
        if step < len(BLINK_PROFILE):
            frame[list(_BLINK)] = BLINK_PROFILE[step]
        else:
            self._blink_at = None
            self._next_blink = self._draw_blink_gap()

    def _head(self, frame: np.ndarray) -> None:
        seconds = self._t / FPS
        for channel, amplitude, freq, phase in self._sway:
            frame[channel] = amplitude * math.sin(2 * math.pi * freq * seconds + phase)
        breath = math.sin(2 * math.pi * 0.25 * seconds + self._breath_phase)
        frame[_HEAD_Y] = 0.004 * breath
        frame[_SHRUG] = 0.03 * breath
        if self._nod_at is not None:
            step = self._t - self._nod_at
            if step < NOD_FRAMES:
                frame[_PITCH] += NOD_DEGREES * math.sin(math.pi * step / NOD_FRAMES)
            else:
                self._nod_at = None
