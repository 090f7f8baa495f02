"""The field that moves a photo's brows up or down at rest (``avatars.relax``): the skin between
brow and lid takes the change evenly, the forehead above follows less and less."""

from __future__ import annotations

import numpy as np

from avatars import face as fm
from avatars import lips
from avatars.rig import Rig

_FOREHEAD = 0.15  # above the brows the forehead follows them, less and less up to this far
_BROW_SIDE = 0.06  # beside a brow's ends its movement fades out over this


def brow_field(rig: Rig, landmarks: np.ndarray, moves: dict[str, float]) -> np.ndarray:
    """(V, 2) px: each brow moved ``moves[side]`` face heights down (negative: up) with the skin
    between it and its upper lid taking the change evenly (the lid itself stays), the forehead
    above following less and less, and nothing beside the brow's ends nor at the face's outline
    (the hairline) and beyond it."""
    axes, fh = rig.axes.astype(np.float64), rig.face_height
    origin = landmarks[168, :2].astype(np.float64)
    q = lips.to_face(rig.vertices[:, :2].astype(np.float64), axes, origin, fh)
    marks = lips.to_face(landmarks[:, :2].astype(np.float64), axes, origin, fh)
    weight = np.zeros(len(q))
    amount = np.zeros(len(q))
    sides = {"Right": (fm.RIGHT_BROW, fm.RIGHT_EYE_UPPER), "Left": (fm.LEFT_BROW, fm.LEFT_EYE_UPPER)}
    for side, move in moves.items():
        brow_ids, lid_ids = sides[side]
        brow, lid = marks[list(brow_ids)], marks[list(lid_ids)]
        b, lo = np.argsort(brow[:, 0]), np.argsort(lid[:, 0])
        x, y = q[:, 0], q[:, 1]
        y_brow = np.interp(x, brow[b, 0], brow[b, 1])
        y_lid = np.interp(x, lid[lo, 0], lid[lo, 1])
        between = np.clip((y_lid - y) / np.maximum(y_lid - y_brow, 1e-3), 0.0, 1.0)
        forehead = 1.0 - _smooth((y_brow - y) / _FOREHEAD)
        outside = np.maximum(brow[:, 0].min() - x, x - brow[:, 0].max()) / _BROW_SIDE
        w = np.where(y < y_brow, forehead, between) * (1.0 - _smooth(outside))
        w[list(fm.FACE_OVAL)] = 0.0
        w[fm.NUM_LANDMARKS :] = 0.0
        take = w > weight  # between the brows the nearer brow leads
        weight = np.where(take, w, weight)
        amount = np.where(take, move, amount)
    return (weight * amount * fh)[:, None] * axes[1][None, :]


def _smooth(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
