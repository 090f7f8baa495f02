"""What every renderer is, and the one way to make one.

A renderer turns one motion frame ((NUM_CHANNELS,) float32, ``avatars.motion``) into one
(H, W, 3) uint8 RGB picture of its character. ``make_renderer`` is the only constructor the rest
of the project calls, so another renderer (a learned one, one on a GPU) plugs in here, by
``kind`` and ``device``, without touching a caller.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from avatars.character import Character

KINDS: tuple[str, ...] = ("warp",)
"""Renderers there are: ``warp`` deforms the photo by a mesh (``renderer.render.Renderer``)."""

DEVICES: dict[str, tuple[str, ...]] = {"warp": ("cpu",)}
"""The devices each kind runs on (the warp renderer is numpy and OpenCV: the CPU)."""


class FrameRenderer(Protocol):
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of its pictures."""
        ...

    @property
    def frame(self) -> np.ndarray:
        """The reference photo framed at ``size``, (H, W, 3) uint8: what ``rest_motion`` renders."""
        ...

    def rest_motion(self) -> np.ndarray:
        """(NUM_CHANNELS,) the reference's own expression, no pose: rendering it gives ``frame``."""
        ...

    def render(self, motion: np.ndarray) -> np.ndarray:
        """(NUM_CHANNELS,) motion -> (H, W, 3) uint8 RGB."""
        ...


def make_renderer(
    character: Character,
    *,
    size: str | tuple[int, int] = "512",
    kind: str = "warp",
    device: str = "cpu",
) -> FrameRenderer:
    """A renderer of ``character`` at ``size`` (a ``renderer.framing.SIZES`` name, "WxH" or
    (width, height)), of ``kind``, on ``device``; ValueError naming what is accepted."""
    if kind not in KINDS:
        raise ValueError(f"renderer kind {kind!r} is not one of {', '.join(KINDS)}")
    if device not in DEVICES[kind]:
        raise ValueError(
            f"the {kind} renderer runs on {', '.join(DEVICES[kind])}, not on device {device!r}"
        )
    from renderer.render import Renderer

    return Renderer(character, size=size)
