"""A photo saved on its side without an EXIF rotation: the face is stood up, and the report
says so; an upright photo is left as it came."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from avatars.character import Character
from avatars.face import FaceMeasurer
from avatars.upright import quarter_turns, stand_upright


@pytest.fixture(scope="module")
def measurer() -> Iterator[FaceMeasurer]:
    with FaceMeasurer() as face_measurer:
        yield face_measurer


@pytest.mark.parametrize("k", [1, 3])
def test_a_face_on_its_side_is_stood_up(astronaut: np.ndarray, measurer: FaceMeasurer, k: int) -> None:
    upright = Character.from_image(astronaut, measurer=measurer)
    sideways = Character.from_image(np.ascontiguousarray(np.rot90(astronaut, k)), measurer=measurer)
    assert sideways.facts is not None and upright.facts is not None
    # the character stands as the upright photo's does: same pose, same face, same picture
    assert abs(sideways.facts.roll - upright.facts.roll) < 3.0
    assert abs(sideways.facts.face_height_px / upright.facts.face_height_px - 1.0) < 0.05
    assert sideways.reference.shape == upright.reference.shape
    way = "clockwise" if k == 1 else "anticlockwise"
    assert any(n.startswith(f"the photo was turned 90° {way}") for n in sideways.notes), sideways.notes
    assert not any("was turned" in note for note in upright.notes)


def test_an_upright_photo_is_measured_once_and_not_turned(
    grace_hopper: np.ndarray, measurer: FaceMeasurer
) -> None:
    found = stand_upright(grace_hopper, measurer)
    assert found.quarter_turns == 0 and found.picture is grace_hopper and found.note() is None


def test_the_roll_says_which_way() -> None:
    assert quarter_turns(87.0) == 3 and quarter_turns(-88.0) == 1 and quarter_turns(178.0) == 2
    assert quarter_turns(44.0) == 0 and quarter_turns(-30.0) == 0
