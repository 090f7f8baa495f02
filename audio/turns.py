"""Who is speaking: per-frame speech probabilities of both streams -> conversation state + events.

Each stream passes a hysteresis gate: speech starts when the probability stays at or above
``onset`` for ``min_speech_ms`` and stops only after ``min_silence_ms`` of silence (a silence
begins below ``offset``; uncertain frames between the thresholds continue it but never begin
it), so a short pause inside a sentence is not a turn change. A pause of
``phrase_end_ms`` after speech is a phrase end (reported for both streams; the avatar nods on the
partner's), which can happen inside a turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from audio.clocks import FPS
from audio.errors import AudioError


class ConversationState(StrEnum):
    """Order and values match the world model's one-hot (``idle, speaking, listening, overlap``)."""

    IDLE = "idle"
    SPEAKING = "speaking"
    """The avatar speaks, the partner does not."""
    LISTENING = "listening"
    """The partner speaks, the avatar does not."""
    OVERLAP = "overlap"


@dataclass(frozen=True)
class StateChange:
    frame: int
    previous: ConversationState
    state: ConversationState


@dataclass(frozen=True)
class PartnerPhraseEnd:
    frame: int
    """The frame at which the pause reached ``phrase_end_ms`` (when the event is raised)."""
    speech_seconds: float
    """How long the phrase that just ended lasted."""


@dataclass(frozen=True)
class SelfPhraseEnd:
    frame: int
    speech_seconds: float


TurnEvent = StateChange | PartnerPhraseEnd | SelfPhraseEnd


def _frames(ms: float) -> int:
    return max(1, math.ceil(ms * FPS / 1000 - 1e-9))


@dataclass(frozen=True)
class TurnOptions:
    onset: float = 0.5
    """Probability at or above which a frame counts as speech."""
    offset: float = 0.35
    """Probability below which a frame counts as silence (between the two: keep the state)."""
    min_speech_ms: float = 80.0
    """Speech must last this long to start a turn (coughs and clicks do not)."""
    min_silence_ms: float = 400.0
    """Silence must last this long to end a turn (pauses inside a sentence do not), unless the
    other speaker starts after at least ``phrase_end_ms``: then the turn passes at once."""
    phrase_end_ms: float = 200.0
    """Silence after speech that counts as a phrase end."""

    def __post_init__(self) -> None:
        if not 0.0 < self.offset <= self.onset < 1.0:
            raise AudioError(
                f"thresholds offset={self.offset} onset={self.onset}: need 0 < offset <= onset < 1"
            )
        for name in ("min_speech_ms", "min_silence_ms", "phrase_end_ms"):
            value = getattr(self, name)
            if not 0.0 < value <= 10_000.0:
                raise AudioError(f"{name}={value} must be in (0, 10000] ms")
        if self.phrase_end_ms > self.min_silence_ms:
            raise AudioError(
                f"phrase_end_ms={self.phrase_end_ms} must not exceed min_silence_ms="
                f"{self.min_silence_ms}: a phrase ends before the turn does"
            )


class SpeechGate:
    """One stream's hysteresis: is this speaker talking, and did a phrase just end?"""

    def __init__(self, options: TurnOptions) -> None:
        self.options = options
        self._onset_frames = _frames(options.min_speech_ms)
        self._release_frames = _frames(options.min_silence_ms)
        self._phrase_frames = _frames(options.phrase_end_ms)
        self.reset()

    def reset(self) -> None:
        self.active = False
        self._speech_run = 0  # consecutive frames at/above onset
        self._silence_run = 0  # consecutive frames below offset
        self._phrase_frames_so_far = 0  # voiced frames of the current phrase
        self._phrase_open = False

    def update(self, probability: float) -> float | None:
        """One frame; returns the ended phrase's length in seconds when a phrase end is due."""
        p = probability if math.isfinite(probability) else 0.0
        if p >= self.options.onset:
            self._speech_run += 1
            self._silence_run = 0
        elif p < self.options.offset:
            self._silence_run += 1
            self._speech_run = 0
        else:  # in between: no onset; a silence already begun keeps running (as silero's own
            self._speech_run = 0  # segmenter does), but none begins
            if self._silence_run:
                self._silence_run += 1
        if not self.active and self._speech_run >= self._onset_frames:
            self.active = True
        if self.active and self._silence_run >= self._release_frames:
            self.active = False
        if self.active and self._silence_run == 0:
            self._phrase_open = True
            self._phrase_frames_so_far += 1
        if self._phrase_open and self._silence_run >= self._phrase_frames:
            seconds = self._phrase_frames_so_far / FPS
            self._phrase_open = False
            self._phrase_frames_so_far = 0
            return seconds
        return None

    def yield_turn(self) -> None:
        """The other speaker has started: if this one has paused for a phrase end, it is done."""
        if self.active and self._silence_run >= self._phrase_frames:
            self.active = False


def _state(self_active: bool, partner_active: bool) -> ConversationState:
    if self_active and partner_active:
        return ConversationState.OVERLAP
    if self_active:
        return ConversationState.SPEAKING
    if partner_active:
        return ConversationState.LISTENING
    return ConversationState.IDLE


class ConversationTracker:
    """Updated once per video frame with both streams' speech probabilities."""

    def __init__(self, *, options: TurnOptions | None = None) -> None:
        self.options = options or TurnOptions()
        self._self_gate = SpeechGate(self.options)
        self._partner_gate = SpeechGate(self.options)
        self.reset()

    def reset(self) -> None:
        self._self_gate.reset()
        self._partner_gate.reset()
        self.frame = -1
        self.state = ConversationState.IDLE

    def update(self, self_probability: float, partner_probability: float) -> tuple[TurnEvent, ...]:
        """One frame; the events it raised (state changes and phrase ends), in order."""
        self.frame += 1
        events: list[TurnEvent] = []
        self_was, partner_was = self._self_gate.active, self._partner_gate.active
        own_end = self._self_gate.update(self_probability)
        partner_end = self._partner_gate.update(partner_probability)
        if self._partner_gate.active and not partner_was:
            self._self_gate.yield_turn()
        if self._self_gate.active and not self_was:
            self._partner_gate.yield_turn()
        if own_end is not None:
            events.append(SelfPhraseEnd(frame=self.frame, speech_seconds=own_end))
        if partner_end is not None:
            events.append(PartnerPhraseEnd(frame=self.frame, speech_seconds=partner_end))
        state = _state(self._self_gate.active, self._partner_gate.active)
        if state != self.state:
            events.append(StateChange(frame=self.frame, previous=self.state, state=state))
            self.state = state
        return tuple(events)
