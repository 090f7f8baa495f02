"""Standing a face upright: a photo saved sideways or upside down without an EXIF rotation.

Phone photos carry their rotation in EXIF (applied on load), but screenshots, exports and scans
often do not: the face then lies on its side, MediaPipe reads a roll near ±90°, and the character
was built lying down. Such a picture is turned by the quarter turn in which its face stands; the
character's report says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from avatars.face import FaceMeasurer
from avatars.images import FaceNotFoundError, FoundFace, find_face

log = logging.getLogger(__name__)

# A face rolled more than this (degrees) lies on its side; MediaPipe reads an upright face's
# roll within about ±30° (the tilted children of the face set: 21°)
MAX_ROLL = 45.0
# a face found after a turn is the same one only if about as large as the one found before it
_SAME_FACE = 0.9
# np.rot90's k (quarter turns counter-clockwise) → how the report says it
_TURNS = {1: "90° anticlockwise", 2: "180°", 3: "90° clockwise"}


@dataclass(frozen=True)
class Upright:
    picture: np.ndarray  # (H, W, 3) RGB, turned so the face stands
    found: FoundFace  # measured in ``picture``
    quarter_turns: int  # k of np.rot90 applied to the upload (0: as it came)

    def note(self) -> str | None:
        """What the report says about the turn, or None when the photo came upright."""
        if self.quarter_turns == 0:
            return None
        lay = "was upside down" if self.quarter_turns == 2 else "lay on its side"
        return (f"the photo was turned {_TURNS[self.quarter_turns]} so that the face stands "
                f"upright (it {lay}, with no EXIF rotation saying so)")  # fmt: skip


def stand_upright(rgb: np.ndarray, measurer: FaceMeasurer) -> Upright:
    """The largest face in ``rgb``; when it lies rolled past MAX_ROLL, the picture turned so that
    its face stands (rolled within ±MAX_ROLL), kept only if that face is about as large as the
    one found as the picture came: the turn the roll says if it does, else the one with the
    largest such face. When none is found, the first turn where a quick look finds one standing.

    MediaPipe reads a face on its side with a roll near ±90° (its sign not always right: a
    tilted one read -76° where +115° was true), and fits an upside-down face as an upright,
    often smaller, distorted one; in a group photo another face upside down can read larger
    than the right one standing, so the roll's turn goes first. A face found upright is not
    second-guessed. On the face set (28 photos): as they come, none is turned; turned 90°
    anticlockwise, 28 are stood up again, clockwise 26 (two stay on their side, as before);
    upside down, 10 (where no face is found; einstein_podium's 92 px face is refused as before,
    the quick look does not search tiles) — the other 17 are fitted as upright faces."""
    try:
        found = find_face(rgb, measurer)
    except FaceNotFoundError:
        # a face the detector misses altogether on its side or head: a quick look at each turn
        # (the whole picture, no tile search: 12 megapixels with no face are refused in 2.7 s
        # against 2.4 before; searching each turn's tiles too took 9.4)
        for k in (3, 1, 2):
            up = _standing(rgb, k, measurer, 0.0, search_tiles=False)
            if up is not None:
                log.info("photo turned upright quarter_turns=%d", k)
                return up
        raise
    if abs(found.measurement.head_roll) <= MAX_ROLL:
        return Upright(picture=rgb, found=found, quarter_turns=0)
    least = _SAME_FACE * found.measurement.face_height
    said = quarter_turns(found.measurement.head_roll)
    best: Upright | None = None
    for k in sorted((1, 2, 3), key=lambda k: k != said):  # the turn the roll says, first
        up = _standing(rgb, k, measurer, least)
        if up is not None and k == said:
            best = up
            break
        if up is not None and (best is None or _height(up) > _height(best)):
            best = up
    if best is None:
        return Upright(picture=rgb, found=found, quarter_turns=0)
    log.info("photo turned upright quarter_turns=%d", best.quarter_turns)
    return best


def quarter_turns(roll: float) -> int:
    """np.rot90's k that stands up a face rolled ``roll`` degrees (a face read at +90° stands
    after a clockwise quarter turn, k=3); 0 within ±MAX_ROLL."""
    return 0 if abs(roll) <= MAX_ROLL else int(-round(roll / 90.0)) % 4


def _standing(
    rgb: np.ndarray, k: int, measurer: FaceMeasurer, least: float, *, search_tiles: bool = True
) -> Upright | None:
    """``rgb`` turned by ``k`` quarter turns, if its face there stands and is at least ``least``
    px tall."""
    turned = np.ascontiguousarray(np.rot90(rgb, k))
    try:
        found = find_face(turned, measurer, search_tiles=search_tiles)
    except FaceNotFoundError:
        return None
    face = found.measurement
    if abs(face.head_roll) > MAX_ROLL or face.face_height < least:
        return None
    return Upright(picture=turned, found=found, quarter_turns=k)


def _height(up: Upright) -> float:
    return up.found.measurement.face_height
