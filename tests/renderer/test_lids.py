"""Closed eyelids: drawn in the skin's tone, not in the tone of what sits above the lid."""

from __future__ import annotations

import cv2
import numpy as np

from avatars import face as fm
from avatars.character import Character
from renderer import Renderer
from renderer.eyes import LidPainter


def _inside(frame: np.ndarray, outline: np.ndarray) -> np.ndarray:
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    return frame[mask > 0].astype(np.float64)


def test_a_closed_lid_under_low_brows_takes_the_skin_tone(astronaut_character: Character) -> None:
    """Brows sitting low on the lid (obama_talking, looking up under heavy brows) filled the
    band the lid's tone was read from: a closed eye became a dark brown patch. The tone now
    comes from the skin above and below the eye together (its brighter half)."""
    renderer = Renderer(astronaut_character, size="512")
    marks = renderer.vertex_positions(renderer.rest_motion())[: fm.NUM_LANDMARKS]
    face_height = astronaut_character.rig.face_height * renderer.scale
    frame = renderer.frame.copy()
    eyes = ((fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER), (fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER))
    for upper, lower in eyes:
        lid = marks[list(upper)]
        gap = float(np.mean(marks[list(lower)][2:-2, 1] - lid[2:-2, 1]))
        brow = np.concatenate([lid, (lid - [0.0, 1.3 * gap])[::-1]])
        cv2.fillPoly(frame, [np.round(brow).astype(np.int32)], (40, 28, 20))  # a low, dark brow
    skin = np.median(_inside(frame, marks[[50, 101, 36, 205]]), axis=0)  # the right cheek
    closed = frame.copy()
    LidPainter(frame, marks, face_height).paint(closed, marks, closures=(1.0, 1.0))
    for upper, lower in eyes:
        eye = np.concatenate([marks[list(upper)], marks[list(lower)][::-1]])
        lid = np.median(_inside(closed, eye), axis=0)
        assert lid.sum() > 0.7 * skin.sum(), (lid, skin)
