"""Eyes behind dark glasses are not animated: a blink would paint lids onto the lenses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import get_args

import cv2
import numpy as np
import pytest

from avatars import face as fm
from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.images import find_face
from avatars.motion import index
from avatars.relaxation import ACTIONS, HIDDEN, UNCHANGED
from renderer import make_renderer
from renderer.report import character_report


@pytest.fixture(scope="module")
def measurer() -> Iterator[FaceMeasurer]:
    with FaceMeasurer() as m:
        yield m


def _with_sunglasses(rgb: np.ndarray, measurer: FaceMeasurer) -> np.ndarray:
    """``rgb`` with dark lenses over both eyes (a reflection on one), joined by a bridge."""
    marks = find_face(rgb, measurer).measurement.landmarks[:, :2]
    out = rgb.copy()
    for upper, lower in ((fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER), (fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER)):
        eye = marks[list(upper + lower)]
        cx, cy = eye.mean(axis=0)
        width = float(np.ptp(eye[:, 0]))
        cv2.ellipse(out, (int(cx), int(cy)), (int(0.85 * width), int(0.55 * width)), 0, 0, 360, (18, 20, 22), -1)
        cv2.circle(out, (int(cx - 0.3 * width), int(cy - 0.2 * width)), max(1, int(0.06 * width)), (240, 240, 240), -1)
    cv2.line(out, tuple(marks[133].astype(int)), tuple(marks[362].astype(int)), (20, 20, 20), 3)
    return out


def _eye_box(renderer, frame: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    marks = renderer.vertex_positions(renderer.rest_motion())[: fm.NUM_LANDMARKS]
    eyes = marks[list(fm.RIGHT_EYE_UPPER + fm.RIGHT_EYE_LOWER + fm.LEFT_EYE_UPPER + fm.LEFT_EYE_LOWER)]
    (x0, y0), (x1, y1) = eyes.min(axis=0) - 15, eyes.max(axis=0) + 15
    return frame[int(y0) : int(y1), int(x0) : int(x1)].astype(np.int16)


def _changes(renderer, **channels: float) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(pixels of the eye region that change by more than 12 grey levels, of the whole frame)."""
    rest = renderer.render(renderer.rest_motion())
    motion = renderer.rest_motion()
    for name, value in channels.items():
        motion[index(name)] = value
    moved = renderer.render(motion)
    eyes = np.abs(_eye_box(renderer, moved) - _eye_box(renderer, rest)).max(axis=2) > 12
    frame = np.abs(moved.astype(np.int16) - rest.astype(np.int16)).max(axis=2) > 12
    return int(eyes.sum()), int(frame.sum())


def test_eyes_behind_dark_glasses_are_not_animated(astronaut: np.ndarray, measurer: FaceMeasurer) -> None:
    """The character says so, and a blink or a glance leaves the lenses as photographed, while
    the mouth still speaks."""
    character = Character.from_image(_with_sunglasses(astronaut, measurer), measurer=measurer)
    lids = character.relaxation.part("lids")
    assert lids.action == HIDDEN, lids
    assert any("dark glasses" in w for w in character_report(character)["warnings"])
    renderer = make_renderer(character, size="512")
    assert _changes(renderer, eyeBlinkLeft=1.0, eyeBlinkRight=1.0)[0] == 0
    assert _changes(renderer, eyeLookUpLeft=1.0, eyeLookUpRight=1.0, eyeWideLeft=1.0)[0] == 0
    assert _changes(renderer, jawOpen=0.6)[1] > 500


@pytest.mark.parametrize("face", ["astronaut", "grace_hopper"])
def test_open_eyes_are_not_taken_for_glasses(face: str, request, measurer: FaceMeasurer) -> None:  # type: ignore[no-untyped-def]
    character = Character.from_image(request.getfixturevalue(face), measurer=measurer)
    lids = character.relaxation.part("lids")
    assert lids.action == UNCHANGED, lids
    assert _changes(make_renderer(character, size="512"), eyeBlinkLeft=1.0, eyeBlinkRight=1.0)[0] > 200


def test_the_api_names_every_relaxation_action() -> None:
    from service.routers.characters import PartOut

    assert get_args(PartOut.model_fields["action"].annotation) == ACTIONS
