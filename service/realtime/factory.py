"""A session for a stored character: its renderer and the default motion stream.

Blocking (loads the rig, builds the warp maps): call it in a thread from async code.
"""

from __future__ import annotations

from typing import Any

from service.realtime.engine import RealtimeSession
from service.realtime.options import SessionOptions


def build_session(
    character: Any,
    *,
    size: str = "512",
    seed: int | None = None,
    options: SessionOptions | None = None,
) -> tuple[RealtimeSession, tuple[int, int]]:
    """(session, (width, height) of its frames) for an ``avatars.character.Character``."""
    from renderer import Renderer
    from service.pipeline import default_motion_stream

    renderer = Renderer(character, size=size)
    session = RealtimeSession(
        renderer=renderer, motion=default_motion_stream(seed=seed), options=options
    )
    return session, renderer.size
