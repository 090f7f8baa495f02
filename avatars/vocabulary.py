"""The avatar's words, in one place: the events (gestures and emotions) it can be asked for,
the conversation states it knows, and the persona traits that say how it moves.

The world model's one-hots follow these orders, the teacher writes them into its corpus, the
service validates requests against them (``check_persona``, ``check_gesture``), once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

EVENTS: tuple[str, ...] = ("none", "nod", "shake", "smile", "surprise", "frown")
"""Requested gestures and emotions; index 0 means no event."""

GESTURES: tuple[str, ...] = EVENTS[1:]
"""The events a caller may trigger."""

STATES: tuple[str, ...] = ("idle", "speaking", "listening", "overlap")
"""Conversation states (``audio.turns.ConversationState`` values, in the model's one-hot order)."""

PERSONA_FIELDS: tuple[str, ...] = ("expressiveness", "nod_rate", "smile", "blink_rate")
"""How a character moves, each trait in [0, 1] (0.5: an average person)."""

DEFAULT_PERSONA: dict[str, float] = {name: 0.5 for name in PERSONA_FIELDS}

EVENT_HOLD_FRAMES = 12
"""A triggered event is fed to the model for this many frames (0.48 s)."""

BLINK_SHAPE: tuple[float, ...] = (0.35, 0.85, 1.0, 0.8, 0.5, 0.25, 0.1)
"""Eyelid closure over the frames of one blink from its onset (about 280 ms); teacher and model
share it, so the model only has to decide *when* to blink."""


def check_persona(persona: Mapping[str, float] | None) -> dict[str, float] | None:
    """The persona with known traits as floats in [0, 1], or ValueError naming the bad one."""
    if persona is None:
        return None
    checked: dict[str, float] = {}
    for trait, value in persona.items():
        if trait not in PERSONA_FIELDS:
            raise ValueError(f"unknown persona trait {trait!r}; known: {', '.join(PERSONA_FIELDS)}")
        number = float(value)
        if not (math.isfinite(number) and 0.0 <= number <= 1.0):
            raise ValueError(f"persona trait {trait}={value} is outside [0, 1]")
        checked[trait] = number
    return checked


def check_gesture(gesture: str) -> str:
    """``gesture`` if it is one of ``GESTURES``, else ValueError naming the known ones."""
    if gesture not in GESTURES:
        raise ValueError(f"unknown gesture {gesture!r}; known: {', '.join(GESTURES)}")
    return gesture
