"""A session for a stored character: its renderer and the default motion stream, built here
(``build_session``: blocking, call it in a thread) or in a frame worker process of a
``FramePool`` (``open_session``).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from avatars.driver import MotionStream
from avatars.model.config import PERSONA_FIELDS
from service.realtime.engine import RealtimeSession
from service.realtime.options import SessionOptions
from service.realtime.pool import FramePool, SessionRecipe

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


async def open_session(
    character: Any,
    *,
    pool: FramePool | None,
    character_folder: str | Path | None = None,
    size: str = "512",
    seed: int | None = None,
    persona: dict[str, float] | None = None,
    options: SessionOptions | None = None,
) -> tuple[RealtimeSession, tuple[int, int]]:
    """(session, (width, height)): on ``pool``'s workers, or on threads here when it is None.

    ``character_folder``: where ``character`` is saved (a store's folder), read by the worker;
    without it the character is saved to a temporary folder for the worker to read once.
    """
    checked = check_persona(persona)
    if pool is None:
        return await asyncio.to_thread(
            build_session, character, size=size, seed=seed, persona=checked, options=options
        )
    from renderer.framing import parse_size

    parse_size(size)  # a bad size is the caller's error, raised here rather than in the worker
    scratch: str | None = None
    if character_folder is None:
        scratch = await asyncio.to_thread(tempfile.mkdtemp, prefix="visavis-character-")
        await asyncio.to_thread(character.save, scratch)
        character_folder = scratch
    try:
        recipe = SessionRecipe(str(character_folder), size=size, seed=seed, persona=checked)
        frames = await pool.open(recipe)
    finally:
        if scratch is not None:
            await asyncio.to_thread(shutil.rmtree, scratch, True)
    return RealtimeSession(frames=frames, options=options), frames.video_size
