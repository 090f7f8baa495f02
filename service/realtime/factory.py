"""A session for a stored character: its renderer and the default motion stream.

Blocking (loads the rig, builds the warp maps): call it in a thread from async code.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from avatars.driver import MotionStream
from avatars.model.config import PERSONA_FIELDS
from service.realtime.engine import RealtimeSession
from service.realtime.options import SessionOptions

log = logging.getLogger(__name__)


def check_persona(persona: dict[str, float] | None) -> dict[str, float] | None:
    """A persona (how the character moves) with known traits in [0, 1], or ValueError."""
    if persona is None:
        return None
    checked: dict[str, float] = {}
    for trait, value in persona.items():
        if trait not in PERSONA_FIELDS:
            raise ValueError(f"unknown persona trait {trait!r}; known: {', '.join(PERSONA_FIELDS)}")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"persona trait {trait}={value} is outside [0, 1]")
        checked[trait] = float(value)
    return checked


def motion_stream_for(
    character: Any, *, seed: int | None, persona: dict[str, float] | None
) -> MotionStream:
    """The service's default motion stream, given the character's style and the persona when
    the stream takes them (the world model does; the energy placeholder does not)."""
    from service.pipeline import default_motion_stream

    accepted = inspect.signature(default_motion_stream).parameters
    kwargs: dict[str, Any] = {"seed": seed}
    if "persona" in accepted:
        kwargs["persona"] = persona
    elif persona:
        log.info("persona not used: the default motion stream takes none")
    if "style" in accepted and hasattr(character, "style_vector"):
        kwargs["style"] = character.style_vector()
    return default_motion_stream(**kwargs)


def build_session(
    character: Any,
    *,
    size: str = "512",
    seed: int | None = None,
    persona: dict[str, float] | None = None,
    options: SessionOptions | None = None,
) -> tuple[RealtimeSession, tuple[int, int]]:
    """(session, (width, height) of its frames) for an ``avatars.character.Character``."""
    from renderer import Renderer

    renderer = Renderer(character, size=size)
    motion = motion_stream_for(character, seed=seed, persona=check_persona(persona))
    session = RealtimeSession(renderer=renderer, motion=motion, options=options)
    return session, renderer.size
