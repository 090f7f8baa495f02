"""A turning head's outline: one smooth edge against the background, no stair-step."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from avatars import face as fm
from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.motion import index
from renderer import Renderer

STEP = 4  # px between the sampled points of the source map


def _jumps_beside_the_face(renderer: Renderer, yaw: float) -> np.ndarray:
    """(rows, cols) second differences (px) of where each output point is read from, every
    STEP px, down and across, the larger of the two; 0 where the point is read from inside the
    face's outline (lids and lips compress steeply by design)."""
    frame = renderer.rest_motion()
    frame[index("headYaw")] = yaw
    map_x, map_y = renderer.source_maps(frame)
    height, width = map_x.shape
    oval = renderer.vertex_positions(renderer.rest_motion())[list(fm.FACE_OVAL)]
    inside = np.zeros((height, width), np.uint8)
    cv2.fillPoly(inside, [np.round(oval).astype(np.int32)], 1)
    sx, sy = map_x[::STEP, ::STEP], map_y[::STEP, ::STEP]
    read_inside = inside[np.clip(sy, 0, height - 1).astype(int), np.clip(sx, 0, width - 1).astype(int)] > 0
    jumps = np.zeros_like(sx)
    for m in (sx, sy):
        jumps[1:-1] = np.maximum(jumps[1:-1], np.abs(m[2:] - 2 * m[1:-1] + m[:-2]))
        jumps[:, 1:-1] = np.maximum(jumps[:, 1:-1], np.abs(m[:, 2:] - 2 * m[:, 1:-1] + m[:, :-2]))
    jumps[read_inside] = 0.0
    return jumps


@pytest.mark.parametrize("yaw", [-10.0, 10.0])
@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_a_turned_face_keeps_one_smooth_outline(
    face: str, yaw: float, request: pytest.FixtureRequest, measurer: FaceMeasurer
) -> None:
    """Where a turn folds the far cheek over the band beside it, each output point there has
    two sources, and the renderer took either, row by row: the cheek's edge came out combed into
    steps (the astronaut at -10°: 23 points of the source map jumping up to 8 px; tom_hanks
    turned back 10°, a saw-tooth cheek). Now the map beside the face bends, never jumps."""
    character = Character.from_image(request.getfixturevalue(face), measurer=measurer)
    renderer = Renderer(character, size="512")
    jumps = _jumps_beside_the_face(renderer, yaw)
    assert float(jumps.max()) < 3.0, (face, yaw, float(jumps.max()), int((jumps > 3.0).sum()))
