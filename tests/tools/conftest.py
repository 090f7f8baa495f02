"""Faces for the face-set tests: from the collected set when it is there, else the package faces."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pytest


@pytest.fixture(scope="session")
def set_face() -> Callable[[str], np.ndarray | None]:
    """``set_face(name)``: a collected face (RGB), or None when the set is not collected here."""
    from tools.faceset.collect import collected, load_face

    def get(name: str) -> np.ndarray | None:
        return load_face(name) if collected([name]) else None

    return get


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
