"""What a real-time session is made of, in one place: a ``SessionSpec`` (the stored character's
folder, the frame size, the seed, the persona) and the parts built from it, a motion stream (the
world model, with the character's style) and a renderer of the character.

A frame worker process builds the parts from a spec (``build_parts``): the spec is small and
picklable, the character is read from its folder where the parts are built and never sent
through a pipe. This module imports only downwards (avatars, renderer, the engine's frame
protocol), so a worker process never imports the session factory or the app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from avatars.driver import MotionStream
from avatars.vocabulary import check_persona
from service.realtime.frames import FramePainter


@dataclass(frozen=True)
class SessionSpec:
    """What a session is made of; validated on construction (a bad value is the caller's
    error, raised here rather than in a worker)."""

    character_folder: str
    size: str = "512"
    """``renderer.framing.SIZES`` name or "WxH"."""
    seed: int | None = None
    persona: dict[str, float] | None = field(default=None, hash=False)
    """Traits of ``avatars.vocabulary.PERSONA_FIELDS`` in [0, 1]."""
    device: str = "cpu"
    """Where the world model and the renderer run (``VISAVIS_DEVICE``)."""
    fit: str = "cover"
    """How the photo fills the frame (``renderer.framing.FITS``)."""
    jpeg_quality: int | None = None
    """Also encode each picture as JPEG at this quality in the frame worker (on a thread beside
    its frame loop); None: pixels only. The service does not ask for it: on 2 cores it was
    measured to make frames late (engine bench, 3 sessions, load ~3: 2% -> 28-94% missed), as the
    workers' cores are the busy ones; the WebSocket encodes on the service's threads instead."""

    def __post_init__(self) -> None:
        from renderer.framing import parse_fit, parse_size

        object.__setattr__(self, "fit", parse_fit(self.fit))

        if not self.character_folder:
            raise ValueError("a session needs its character's folder")
        parse_size(self.size)
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise ValueError(f"seed {self.seed} must be in 0..{2**32 - 1}")
        object.__setattr__(self, "persona", check_persona(self.persona))
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be in 1..100, got {self.jpeg_quality}")


@dataclass(frozen=True)
class SessionParts:
    motion: MotionStream
    renderer: FramePainter
    video_size: tuple[int, int] | None = None
    """(width, height) of the renderer's pictures, when known before the first one."""


PartsBuilder = Callable[[SessionSpec], SessionParts]
"""spec -> parts; a module-level function (a worker process receives it by reference)."""


def motion_stream_for(
    character: Any,
    *,
    seed: int | None,
    persona: dict[str, float] | None,
    device: str = "cpu",
) -> MotionStream:
    """The world model with its shipped weights on ``device``, styled by ``character`` (an
    ``avatars.character.Character``), sampling with ``seed``, moving as ``persona`` says."""
    from avatars.model import load_motion_stream

    return load_motion_stream(
        seed=seed, style=character.style_vector(), persona=persona, device=device
    )


def build_parts(spec: SessionSpec) -> SessionParts:
    """The service's parts for ``spec``: the stored character's renderer and the world model."""
    from avatars.character import Character
    from renderer import make_renderer

    character = Character.load(spec.character_folder)
    motion = motion_stream_for(
        character, seed=spec.seed, persona=spec.persona, device=spec.device
    )
    renderer = make_renderer(character, size=spec.size, fit=spec.fit, device=spec.device)
    return SessionParts(motion=motion, renderer=renderer, video_size=renderer.size)


def import_parts() -> None:
    """Import what ``build_parts`` needs (torch, the world model, the renderer): a warm frame
    worker does it before it reports ready, so its first session builds in well under a second."""
    import renderer  # noqa: F401
    from avatars.model import stream  # noqa: F401
