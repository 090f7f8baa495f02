"""Renderer fixtures: one face measurer, the astronaut character and its 512 renderer, built once."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from avatars.character import Character
from avatars.face import FaceMeasurer
from renderer import Renderer, make_renderer


@pytest.fixture(scope="session")
def measurer() -> Iterator[FaceMeasurer]:
    with FaceMeasurer() as face_measurer:
        yield face_measurer


@pytest.fixture(scope="session")
def astronaut_character(astronaut: np.ndarray, measurer: FaceMeasurer) -> Character:
    return Character.from_image(astronaut, measurer=measurer)


@pytest.fixture(scope="session")
def astronaut_renderer(astronaut_character: Character) -> Renderer:
    renderer = make_renderer(astronaut_character, size="512")
    assert isinstance(renderer, Renderer)
    return renderer
