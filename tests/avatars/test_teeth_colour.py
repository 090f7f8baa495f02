"""The teeth colour a character keeps from its photo: the teeth it shows, never its tongue or
lips (drawn as teeth, a surprised photo's tongue gave its speaking avatar mauve teeth)."""

from __future__ import annotations

import cv2
import numpy as np

from avatars import face as fm
from avatars.lips import LOWER, UPPER, teeth_color

TEETH = (226, 220, 204)
TONGUE = (178, 112, 134)
LIP = (196, 96, 104)
LIP_HIGHLIGHT = (244, 196, 196)  # as light as teeth, but redder


def _mouth(fill: dict[str, tuple[int, int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """A 200 x 200 picture with an open mouth (inner lips an ellipse 120 x 60 px): its upper half
    filled with ``fill["upper"]``, its lower half with ``fill["lower"]``, a lip-coloured rim with
    a highlight inside the line; and (478, 3) landmarks with the inner lips on that line."""
    landmarks = np.zeros((fm.NUM_LANDMARKS, 3), np.float32)
    angles_upper = np.linspace(np.pi, 2 * np.pi, len(UPPER))  # corner -> corner over the top
    angles_lower = np.linspace(np.pi, 0.0, len(LOWER))  # the same corners under the bottom
    for ids, angles in ((UPPER, angles_upper), (LOWER, angles_lower)):
        landmarks[ids, 0] = 100 + 60 * np.cos(angles)
        landmarks[ids, 1] = 100 + 30 * np.sin(angles)
    picture = np.full((200, 200, 3), 200, np.uint8)
    cv2.ellipse(picture, (100, 100), (60, 30), 0, 180, 360, fill["upper"], -1)
    cv2.ellipse(picture, (100, 100), (60, 30), 0, 0, 180, fill["lower"], -1)
    cv2.ellipse(picture, (100, 100), (58, 28), 0, 0, 360, LIP, 4)
    cv2.ellipse(picture, (100, 100), (54, 24), 0, 20, 160, LIP_HIGHLIGHT, 2)
    return picture, landmarks


def test_the_teeth_a_smile_shows_are_its_teeth_colour() -> None:
    picture, landmarks = _mouth({"upper": TEETH, "lower": TONGUE})
    colour = teeth_color(picture, landmarks)
    assert colour is not None
    assert np.abs(colour - TEETH).max() < 6.0, colour


def test_an_open_mouth_without_teeth_keeps_no_teeth_colour() -> None:
    # a surprised face: tongue and lips, a light highlight on the lower lip, no teeth
    picture, landmarks = _mouth({"upper": (60, 30, 36), "lower": TONGUE})
    assert teeth_color(picture, landmarks) is None


def test_closed_lips_show_no_teeth() -> None:
    picture, landmarks = _mouth({"upper": TEETH, "lower": TEETH})
    landmarks[LOWER, 1] = landmarks[UPPER, 1]  # the inner lips on one line
    assert teeth_color(picture, landmarks) is None


def test_a_black_and_white_photo_keeps_grey_teeth() -> None:
    picture, landmarks = _mouth({"upper": TEETH, "lower": TONGUE})
    grey = cv2.cvtColor(cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    colour = teeth_color(grey, landmarks)
    assert colour is not None
    assert np.ptp(colour) < 2.0 and colour.mean() > 190, colour
