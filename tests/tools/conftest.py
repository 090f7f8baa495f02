"""Fixtures for the face-set tests: a measurer, dlib, a renderer of the astronaut."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest


@pytest.fixture(scope="session")
def measurer() -> Iterator[object]:
    from avatars.face import FaceMeasurer

    with FaceMeasurer() as m:
        yield m


@pytest.fixture(scope="session")
def dlib_faces() -> object:
    from tools.faceset.metrics import DlibFaces

    return DlibFaces()


@pytest.fixture(scope="session")
def astronaut_renderer(astronaut: np.ndarray, measurer: object) -> object:
    from avatars.character import Character
    from renderer import make_renderer

    return make_renderer(Character.from_image(astronaut, measurer=measurer), size="512")  # type: ignore[arg-type]
