"""The mouth interior, drawn where the lips part further than in the reference.

Cavity, upper and lower teeth, tongue, shaded by the face's own brightness; when the reference shows
its teeth, they are reused, and when the photo showed teeth that its relaxation covered
(``avatars.relax``), their colour is. Drawn on a small region around the mouth only.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from avatars import face as fm
from avatars.lips import teeth_color

UPPER_INNER = list(fm.LIPS_UPPER_INNER)  # corner → corner
_ANCHORS = [78, 308, 13]  # inner-lip corners and the middle of the upper inner lip
LOWER_INNER = list(fm.LIPS_LOWER_INNER)
_INTERIOR_BLUR = 0.6  # output pixels (Gaussian sigma) of the drawn interior at 1:1
_DEFAULT_TEETH = np.array([236.0, 228.0, 212.0])
_CAVITY = np.array([70.0, 26.0, 30.0])
_TONGUE = np.array([176.0, 86.0, 88.0])


def smooth_curve(points: np.ndarray, *, closed: bool, rounds: int = 2) -> np.ndarray:
    """Chaikin corner cutting: a polyline (N, 2) rounded into a smooth curve (~N * 2**rounds)."""
    curve = points.astype(np.float32)
    for _ in range(rounds):
        if closed:
            current, following = curve, np.concatenate([curve[1:], curve[:1]])
            first = 0  # the cut points alone
        else:
            current, following = curve[:-1], curve[1:]
            first = 1  # the ends stay
        # each segment gives two points, at a quarter and three quarters of its length
        # (filled in place: this runs several times a frame on a few dozen points)
        end = first + 2 * len(current)
        cut = np.empty((end + first, 2), np.float32)
        np.add(0.75 * current, 0.25 * following, out=cut[first:end:2])
        np.add(0.25 * current, 0.75 * following, out=cut[first + 1 : end : 2])
        if not closed:
            cut[0], cut[-1] = curve[0], curve[-1]
        curve = cut
    return curve


def opening_polygon(points: np.ndarray) -> np.ndarray:
    """(22-2, 2) inner-lip outline: upper lip corner → corner, then the lower lip back."""
    return np.concatenate([points[UPPER_INNER], points[LOWER_INNER[-2:0:-1]]]).astype(np.float32)


def lip_opening_area(points: np.ndarray) -> float:
    """Area between the inner lips, counting only where the lower lip is below the upper one
    (pressed or crossing lips count as closed, unlike a polygon area)."""
    upper, lower = points[UPPER_INNER], points[LOWER_INNER]
    gaps = np.clip(lower[:, 1] - upper[:, 1], 0.0, None)
    xs = (upper[:, 0] + lower[:, 0]) / 2
    return float(np.sum((gaps[1:] + gaps[:-1]) / 2 * np.abs(np.diff(xs))))


def polygon_area(poly: np.ndarray) -> float:
    x, y = poly[:, 0], poly[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


class MouthPainter:
    """Paints the interior for one framed reference (landmarks in output pixels)."""

    def __init__(
        self,
        frame: np.ndarray,
        landmarks_xy: np.ndarray,
        face_height: float,
        *,
        teeth: np.ndarray | None = None,
        magnified: float = 1.0,
    ) -> None:
        """``teeth``: RGB of the teeth the original photo showed (the character's), used when
        the framed reference shows none. ``magnified``: output pixels per photo pixel; the photo
        is that much softer than the output, and so is the interior drawn into it."""
        self.face_height = face_height
        # a photo magnified 2x (a small face) is soft over about two output pixels: teeth drawn
        # crisp there looked pasted on (children, biden_small)
        self._soften = _INTERIOR_BLUR * max(magnified, 1.0)
        reference_poly = opening_polygon(landmarks_xy)
        self.reference_area = lip_opening_area(landmarks_xy)
        mouth_w = float(np.linalg.norm(landmarks_xy[61] - landmarks_xy[291]))
        # Opening beyond the reference over which the interior fades in (avoids a pop).
        self.fade_area = max(0.02 * face_height * mouth_w, 4.0)
        self.rest_width = mouth_w
        face_poly = landmarks_xy[list(fm.FACE_OVAL)].astype(np.int32)
        face_mask = np.zeros(frame.shape[:2], np.uint8)
        cv2.fillPoly(face_mask, [face_poly], 255)
        skin = np.asarray(cv2.mean(frame, mask=face_mask)[:3])
        self.light = float(np.clip(skin.mean() / 150.0, 0.35, 1.3))
        seen = teeth_color(frame, landmarks_xy)
        # When the reference shows its teeth, its own mouth interior is reused: carried by the
        # upper lip (corners and middle of the upper inner lip), the rest generated below it.
        self._frame = frame
        self._anchors = landmarks_xy[_ANCHORS].astype(np.float32)
        # the reference's lips' midline and lower inner lip: below the midline its interior
        # (lower teeth) belongs to the jaw, so only the upper part is carried by the skull
        self._midline = ((landmarks_xy[13] + landmarks_xy[14]) / 2).astype(np.float32)
        self._lower_lip = landmarks_xy[14].astype(np.float32)
        self._reference_poly = smooth_curve(reference_poly, closed=True) if seen is not None else None
        # default teeth take a little of the skin's warmth, as they do under the same light
        tint = 0.85 + 0.15 * skin / max(float(skin.mean()), 1.0)
        known = seen if seen is not None else teeth
        self.teeth = known * 0.95 if known is not None else _DEFAULT_TEETH * self.light * tint
        self.cavity = _CAVITY * self.light
        self.tongue = np.clip(_TONGUE * self.light * 0.7 + skin * 0.3 * self.light, 0, 255)
        # A black-and-white or faded photo gets an interior as grey as its skin: the generated
        # colours keep the share of their saturation that the face keeps of a colour photo's
        colour = _colourfulness(frame[face_mask > 0]) / _SKIN_COLOURFULNESS
        if colour < 1.0:
            self.teeth, self.cavity, self.tongue = (
                _desaturate(c, max(colour, 0.0)) for c in (self.teeth, self.cavity, self.tongue)
            )

    def paint(
        self,
        frame: np.ndarray,
        points: np.ndarray,
        *,
        opening: np.ndarray,
        tongue_out: float = 0.0,
        teeth_anchors: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
        rounded: float | None = None,
    ) -> None:
        """Draw into ``frame`` (in place) for deformed landmarks ``points`` (478, 2).

        ``opening``: the landmarks moved by the expression alone (478, 2), so that head pose and
        scale do not count as the lips parting. ``teeth_anchors()`` → (skull, jaw), each (478, 2),
        of which only the inner lips are read: the landmarks with the head pose but the
        reference's expression, which carry the upper teeth, and the same with the jaw opened as
        commanded, which carry the lower teeth (called only when the interior is drawn;
        default: the lips carry both). ``rounded``:
        how far the lips are rounded and pushed out (pucker, funnel; 0..1), which hides the
        teeth (default: judged from the mouth's width against the reference's).
        """
        if tongue_out > 0.0:
            self._paint_tongue_out(frame, points, tongue_out)
        poly = smooth_curve(opening_polygon(points), closed=True)
        area = lip_opening_area(opening)
        alpha = min(max((area - self.reference_area) / self.fade_area, 0.0), 1.0)
        # Rounded, pushed-out lips (funnel, pucker) hide the teeth: only a dark opening shows,
        # so a narrowed mouth gets the drawn interior even within the reference's opening.
        if rounded is None:
            narrow = float(np.linalg.norm(points[61] - points[291])) / max(self.rest_width, 1.0)
            teeth_show = float(np.clip((narrow - 0.7) / 0.2, 0.0, 1.0))
        else:
            teeth_show = min(max(1.0 - 1.6 * rounded, 0.0), 1.0)
        if area > 0.0:
            alpha = max(alpha, 1.0 - teeth_show)
        if alpha <= 0.0:
            return
        height, width = frame.shape[:2]
        x0, y0 = np.floor(poly.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int) + 3
        x0, y0 = max(x0, 0), max(y0, 0)
        x1, y1 = min(x1, width), min(y1, height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        origin = np.array([x0, y0], np.float32)
        upper = smooth_curve(points[UPPER_INNER], closed=False) - origin
        lower = smooth_curve(points[LOWER_INNER], closed=False) - origin
        local = poly - origin
        gap = float(np.max(lower[:, 1] - upper[:, 1]))
        roi_h, roi_w = y1 - y0, x1 - x0
        mask = np.zeros((roi_h, roi_w), np.uint8)
        cv2.fillPoly(mask, [np.round(local * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        # Cavity: lit by what comes in past the lips, falling into the dark of the throat with
        # distance from the lips' edge.
        inside = cv2.distanceTransform((mask > 127).astype(np.uint8), cv2.DIST_L2, 3)
        depth_in = np.clip(inside / max(0.35 * gap, 1.0), 0.0, 1.0)[..., None]
        interior = self.cavity * (1.1 - 0.6 * depth_in)
        fh = self.face_height
        # The tongue lies low, its top catching the light, its back in shadow.
        tongue_h = 0.4 * gap + 0.08 * fh * tongue_out
        bottom = lower[len(lower) // 2]
        center = (round(float(bottom[0]) * 16), round(float(bottom[1] + 0.05 * gap) * 16))
        axes = (round(0.3 * abs(lower[-1, 0] - lower[0, 0]) * 16), max(16, round(tongue_h * 16)))
        tongue = np.zeros((roi_h, roi_w), np.uint8)
        cv2.ellipse(tongue, center, axes, 0, 180, 360, 255, -1, cv2.LINE_AA, 4)
        tongue_w = cv2.GaussianBlur(tongue, (0, 0), sigmaX=max(1.0, 0.004 * fh))
        rows = np.arange(roi_h, dtype=np.float32)[:, None, None]
        top = bottom[1] + 0.05 * gap - tongue_h
        lit = 1.0 - 0.35 * np.clip((rows - top) / max(tongue_h, 1.0), 0.0, 1.0)
        # rounded lips (pucker, funnel) come with the tongue drawn back: only darkness shows
        tongue_seen = max(teeth_show, min(1.0, 3.0 * tongue_out)) / 255.0
        interior += (self.tongue * lit - interior) * (tongue_w[..., None] * tongue_seen)
        mouth_w = float(abs(upper[-1, 0] - upper[0, 0]))
        skull, jaw = teeth_anchors() if teeth_anchors is not None else (None, None)
        if skull is not None and jaw is not None:
            # Upper teeth are fixed to the skull, their edge near the lips' closed seam; lower
            # teeth ride on the jaw just behind the lower lip. The opening shows what is between.
            length = 0.055 * fh
            seam = (skull[UPPER_INNER] + skull[LOWER_INNER]) / 2
            root = smooth_curve(seam, closed=False) - origin - [0.0, length - 0.03 * fh]
            # rounded lips hide the teeth in the mouth's shadow
            shown = self.cavity + (self.teeth - self.cavity) * teeth_show
            _draw_teeth(interior, root, length, shown, mouth_w)
            low = jaw[LOWER_INNER]
            # lower incisors are shorter and stand mostly behind the lower lip
            root = smooth_curve(low, closed=False) - origin + [0.0, 0.012 * fh]
            _draw_teeth(interior, root, -0.03 * fh, shown * 0.88, 0.85 * mouth_w)
        else:
            # Upper teeth show first; the lower ones only once the jaw has dropped well.
            teeth_h = min(0.045 * fh, 0.3 * gap) * teeth_show
            _draw_teeth(interior, upper, teeth_h, self.teeth, mouth_w)
            if gap > 0.09 * fh and teeth_show > 0.0:
                lower_h = -min(0.02 * fh, 0.12 * gap)
                _draw_teeth(interior, lower, lower_h, self.teeth * 0.78, mouth_w)
        if self._reference_poly is not None and teeth_show > 0.5:
            self._reuse_reference(interior, points if skull is None else skull, origin)
        # The lips shade the inside near their edges; everything inside is a little soft.
        # (one blur of the opening serves both: the lips' shade inside and the soft edge)
        soft = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(0.8, 0.004 * fh)).astype(np.float32)
        interior *= (0.8 + 0.2 * soft / 255.0)[..., None]
        interior = cv2.GaussianBlur(interior, (0, 0), sigmaX=self._soften)
        # a soft edge: the lips' inner rims curve away into the mouth
        weight = soft[..., None] * (alpha / 255.0)
        region = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(region + (interior - region) * weight + 0.5, 0, 255).astype(
            np.uint8
        )

    def _reuse_reference(self, interior: np.ndarray, points: np.ndarray, origin: np.ndarray) -> None:
        """Overlay the reference's own mouth interior (its teeth), moved with ``points``' upper
        lip (the skull's when given: the upper teeth do not rise with a lip)."""
        assert self._reference_poly is not None
        target = (points[_ANCHORS] - origin).astype(np.float32)
        matrix = cv2.getAffineTransform(self._anchors, target)
        size = (interior.shape[1], interior.shape[0])
        moved = cv2.warpAffine(self._frame, matrix, size, flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE).astype(np.float32)  # fmt: skip
        poly = self._reference_poly @ matrix[:, :2].T + matrix[:, 2]
        mask = np.zeros(interior.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
        # keep clear of the reference's lip edge: its lip colour must not come along
        inset = max(1, round(0.008 * self.face_height))
        eroded = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=inset)
        weight = cv2.GaussianBlur(eroded, (0, 0), sigmaX=1.0).astype(np.float32)[..., None] / 255.0
        mid_y = float(matrix[1, :2] @ self._midline + matrix[1, 2])
        low_y = float(matrix[1, :2] @ self._lower_lip + matrix[1, 2])
        rows = np.arange(interior.shape[0], dtype=np.float32)[:, None, None]
        weight = weight * np.clip((low_y - rows) / max(low_y - mid_y, 1.0), 0.0, 1.0)
        interior += (moved - interior) * weight

    def _paint_tongue_out(self, frame: np.ndarray, points: np.ndarray, amount: float) -> None:
        """The tongue tip out over the lower lip (drawn over it, not clipped by the opening)."""
        mouth_w = float(np.linalg.norm(points[61] - points[291]))
        lip = points[14]
        length = 0.09 * self.face_height * amount
        center = (float(lip[0]), float(lip[1]))
        axes = (max(1.0, 0.24 * mouth_w), max(1.0, length))
        x0, y0 = max(int(center[0] - axes[0]) - 2, 0), max(int(center[1] - 2), 0)
        x1 = min(int(center[0] + axes[0]) + 3, frame.shape[1])
        y1 = min(int(center[1] + axes[1]) + 3, frame.shape[0])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        local = (round((center[0] - x0) * 16), round((center[1] - y0) * 16))
        cv2.ellipse(mask, local, (round(axes[0] * 16), round(axes[1] * 16)), 0, 0, 180, 255, -1,
                    cv2.LINE_AA, 4)  # fmt: skip
        weight = cv2.GaussianBlur(mask, (0, 0), 0.7).astype(np.float32)[..., None] / 255.0
        rows = np.linspace(1.0, 0.8, y1 - y0, dtype=np.float32)[:, None, None]  # tip in shadow
        region = frame[y0:y1, x0:x1].astype(np.float32)
        region += (self.tongue * rows - region) * weight * min(1.0, amount * 3)
        frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _draw_teeth(
    canvas: np.ndarray, lip: np.ndarray, height: float, color: np.ndarray, mouth_w: float
) -> None:
    """Teeth hanging from (height > 0) or standing on (height < 0) a lip contour, in place.

    Per column: the teeth reach ``height`` from the lip in the middle of the mouth and taper to
    nothing towards the corners, where the dental arch turns away.
    """
    rows, cols = canvas.shape[:2]
    order = np.argsort(lip[:, 0])
    xs = np.arange(cols, dtype=np.float32)
    lip_y = np.interp(xs, lip[order, 0], lip[order, 1])  # (cols,)
    center_x = float((lip[:, 0].min() + lip[:, 0].max()) / 2)
    side = np.abs(xs - center_x) / max(0.42 * mouth_w, 1.0)
    reach = abs(height) * np.clip(1.0 - side**4, 0.0, 1.0)  # (cols,)
    # only the band of rows the teeth can reach
    r0 = max(int(np.floor(lip_y.min() - (abs(height) + 2 if height < 0 else 2))), 0)
    r1 = min(int(np.ceil(lip_y.max() + (abs(height) + 2 if height > 0 else 2))), rows)
    if r1 <= r0:
        return
    canvas = canvas[r0:r1]  # a view: drawing into it draws into the caller's canvas
    ys = np.arange(r0, r1, dtype=np.float32)[:, None]
    depth = (ys - lip_y[None, :]) if height > 0 else (lip_y[None, :] - ys)  # into the mouth
    # soft one-pixel edge at the biting edge
    mask = np.clip(reach[None, :] - depth + 0.5, 0.0, 1.0) * (depth > -1.0)
    mask *= np.clip(reach, 0.0, 1.0)[None, :]  # no hairline where the arch has turned away
    if not mask.any():
        return
    # lit at the biting edge, shadowed under the lip; darker towards the corners
    towards_edge = np.clip(depth / np.maximum(reach[None, :], 1.0), 0.0, 1.0)
    shade = (0.82 + 0.18 * towards_edge) * np.clip(1.0 - 0.4 * side**2, 0.5, 1.0)[None, :]
    teeth = color[None, None, :] * shade[..., None]
    if height > 0:  # faint gaps between the upper front teeth
        for offset in (0.0, 0.12, -0.12):
            x = round(center_x + offset * mouth_w)
            if 0 <= x < cols:
                teeth[:, x] *= 0.88
    canvas += (teeth.astype(np.float32) - canvas) * mask[..., None]


# the median colourfulness ((max - min) / mean of a pixel's channels) of a face in a colour photo;
# measured: 0.32-0.90 on colour photos, 0 on black-and-white ones
_SKIN_COLOURFULNESS = 0.25


def _colourfulness(pixels: np.ndarray) -> float:
    """Median (max - min) / mean over the channels of (N, 3) pixels: 0 for greys."""
    if pixels.shape[0] == 0:
        return _SKIN_COLOURFULNESS
    values = pixels.astype(np.float32)
    spread = values.max(axis=1) - values.min(axis=1)
    return float(np.median(spread / np.maximum(values.mean(axis=1), 1.0)))


def _desaturate(color: np.ndarray, keep: float) -> np.ndarray:
    """``color`` (3,) moved towards its own grey, keeping ``keep`` (0..1) of its saturation."""
    grey = float(np.dot(color, [0.299, 0.587, 0.114]))
    return grey + (np.asarray(color, np.float64) - grey) * keep
