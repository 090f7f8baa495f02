"""Closing a photo's parted lips with the lips themselves (build time, ``avatars.relax``).

The opening between the inner lips is a seam of ``avatars.piecewise``: each pair of inner-lip
landmarks (upper and lower, corner to corner) is brought to one point of the line where the lips
meet, the upper lip coming down and the lower lip up; the skin around follows with a falloff that
ends at the nose above and the chin below, so each lip stretches a little (closed lips show more
of their red than parted ones). MediaPipe's inner-lip line often runs a pixel or two inside the
lip or over the teeth; before closing, each rung of the seam is moved outwards over whatever
still looks like teeth or mouth cavity rather than lip, plus a pixel for bilinear sampling, so
nothing of the inside is read. The closed mouth gets the shadow real closed lips have where they
meet: a thin band along the seam filled from the lips either side (on a small face the inner lip
edges that meet there are half cavity) and darkened, faintly and thinly (no painted band).
"""

from __future__ import annotations

import cv2
import numpy as np

from avatars import face as fm

UPPER = list(fm.LIPS_UPPER_INNER)  # corner → corner; shares both corners with LOWER
LOWER = list(fm.LIPS_LOWER_INNER)
_UPPER_OUTER = list(fm.LIPS_UPPER_OUTER)  # the same rungs on the lips' outer edge
_LOWER_OUTER = list(fm.LIPS_LOWER_OUTER)
# ... and on the ring of landmarks just outside the inner line, which it must never pass
UPPER_NEXT = [62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292]
LOWER_NEXT = [62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292]
_SUBNASALE = 2  # below the nose tip: the upper lip's skin moves, the nose does not
_MARGIN_PX = 1.0  # beyond the last tooth-like pixel: bilinear sampling reads one pixel around
_SEARCH = 0.03  # face heights: the farthest an inner-lip line is moved over teeth or cavity
_REACH = 0.7  # ... and the largest share of the lip it may cross doing so
_CAVITY_LIGHT = 30.0  # CIE L below which the mouth's inside is shadow (lips are lighter)
# Teeth among the mouth's colours (CIE Lab): light, and at most this much redder than the least
# red light part; never as red as lips, gums or tongue; enough of them to be more than a glint
_TEETH_MIN_LIGHT, _TEETH_RED_SPREAD, _TEETH_MAX_RED, _TEETH_MIN_SHARE = 45.0, 8.0, 12.0, 0.02
_TEETH_MAX_CHROMA = 35.0  # CIE Lab: yellowed teeth under warm light reach about 25
_SEAM_DEPTH = 0.22  # the meeting line darkens the lips by this share at its middle
_SEAM_WIDTH = 0.0025  # face heights: the meeting line's soft width (Gaussian sigma)
# the band along the meeting line filled from the lips around it, pixels wide: the inner lip
# edges' mixed pixels are a sampling artefact, a pixel each side at any face size (a band of
# 0.012 face heights blended a 246 px face's moustache shadow into its lip)
_MEND_BAND_PX = 2


def to_face(points: np.ndarray, axes: np.ndarray, origin: np.ndarray, fh: float) -> np.ndarray:
    """Image pixels (N, 2) → face frame (x along the eye line, y down, unit = face height)."""
    return (points - origin) @ axes.T / fh


def inner_gaps(landmarks: np.ndarray, axes: np.ndarray) -> np.ndarray:
    """(11,) how far each lower inner-lip point is below its upper partner, along the face's y
    axis, in the landmarks' units (0 at the shared corners)."""
    xy = landmarks[:, :2].astype(np.float64)
    return (xy[LOWER] - xy[UPPER]) @ axes[1]


def _lab(picture: np.ndarray, points: np.ndarray) -> np.ndarray:
    """CIE Lab colours (N, 3) of ``picture`` read bilinearly at ``points`` (N, 2)."""
    xy = points.astype(np.float32).reshape(1, -1, 2)
    rgb = cv2.remap(picture, xy, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)


def refine_opening(
    picture: np.ndarray, landmarks: np.ndarray, axes: np.ndarray, fh: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(upper, lower, upper_next, lower_next), each (11, 2) px: the inner-lip lines moved
    outwards over what looks like teeth or cavity rather than lip, plus ``_MARGIN_PX`` (never
    further than ``_REACH`` of the way to the lip's outer edge, nor ``_SEARCH``), and the next
    ring of lip landmarks, moved on with them where the line would pass it (the mesh must not
    fold); the shared corners stay. Each rung looks along three columns (its own and a third of
    the way to its neighbours) and takes the farthest."""
    xy = landmarks[:, :2].astype(np.float64)
    up = -axes[1]  # towards the nose
    # each lip's own colour, from its middle away from its inner edge: lit from above, a lower
    # lip is often much lighter than the upper one (in a black-and-white laugh, 60 against 43
    # CIE L, so their shared median, 52, called the lower lip teeth-like)
    upper_lip, lower_lip = (np.median(_lab(picture, np.concatenate([
        xy[inner][2:-2] + t * (xy[outer][2:-2] - xy[inner][2:-2]) for t in (0.4, 0.6)])), axis=0)
        for inner, outer in ((UPPER, _UPPER_OUTER), (LOWER, _LOWER_OUTER)))  # fmt: skip
    inside = _inside_colours(picture, xy)
    out = []
    for ids, nexts, outers, direction, lip in ((UPPER, UPPER_NEXT, _UPPER_OUTER, up, upper_lip),
                                               (LOWER, LOWER_NEXT, _LOWER_OUTER, -up, lower_lip)):  # fmt: skip
        base = xy[ids]
        line, following = base.copy(), xy[nexts].copy()
        for k in range(1, len(line) - 1):
            if inside is None:  # too little of an inside to tell its colours: nothing to hide
                break
            reach = max(min(_REACH * float((xy[outers[k]] - line[k]) @ direction), _SEARCH * fh), 0.0)
            moved = max(_run_inside(picture, base[k] + t * (base[k + s] - base[k]), direction, reach,
                                    lip, inside) for s, t in ((0, 0.0), (-1, 1 / 3), (1, 1 / 3)))  # fmt: skip
            line[k] = line[k] + min(moved + _MARGIN_PX, reach) * direction
            room = float((following[k] - line[k]) @ direction)
            if room < 1.0:  # the next ring keeps a pixel ahead, half way to the outer edge at most
                ahead = 0.5 * float((xy[outers[k]] - line[k]) @ direction)
                following[k] = line[k] + max(ahead, 1.0) * direction
        out.append((line, following))
    (upper, upper_next), (lower, lower_next) = out
    return upper, lower, upper_next, lower_next


def _run_inside(
    picture: np.ndarray, start: np.ndarray, direction: np.ndarray, reach: float, lip: np.ndarray,
    inside: np.ndarray,
) -> float:
    """How far from ``start`` along ``direction`` (at most ``reach`` px) the pixels look like
    the mouth's inside rather than lip."""
    steps = np.arange(0.0, reach + 1e-9, 0.5)
    colours = _lab(picture, start + steps[:, None] * direction)
    to_lip = np.linalg.norm(colours - lip, axis=1)
    to_inside = np.min(np.linalg.norm(colours[:, None] - inside[None], axis=2), axis=1)
    looks_inside = to_inside < 0.8 * to_lip
    run = int(np.argmin(looks_inside)) if not looks_inside.all() else len(steps)
    return float(steps[run - 1]) if run > 0 else 0.0


def _opening_lab(picture: np.ndarray, xy: np.ndarray) -> np.ndarray | None:
    """(n, 3) CIE Lab colours of the pixels inside the opening between the inner lips (a pixel
    in from the lip line), or None when it holds too few to tell (closed lips)."""
    poly = np.concatenate([xy[UPPER], xy[LOWER][-2:0:-1]]).astype(np.float32)
    filled = np.zeros(picture.shape[:2], np.uint8)
    cv2.fillPoly(filled, [np.round(poly).astype(np.int32)], 1)
    pixels = picture[cv2.erode(filled, np.ones((3, 3), np.uint8)) > 0]
    if len(pixels) < 12:
        return None
    return cv2.cvtColor(pixels.reshape(1, -1, 3).astype(np.float32) / 255.0,
                        cv2.COLOR_RGB2Lab).reshape(-1, 3)  # fmt: skip


def _teeth_lab(opening: np.ndarray) -> np.ndarray | None:
    """Median Lab colour of the teeth among an opening's colours (n, 3), or None when it shows
    none. Teeth are the bright part that is least red: the opening's edge is lip, and its
    bright highlights are as light as teeth but redder (a laugh's lips read a* 15-30 where its
    teeth read 5-15); an open mouth without teeth shows only tongue and lips (a* above
    ``_TEETH_MAX_RED``), whose colour drawn as teeth read mauve."""
    light = opening[:, 0]
    bright = opening[light >= max(float(np.percentile(light, 60)), _TEETH_MIN_LIGHT)]
    if len(bright) < 6:
        return None
    red, chroma = bright[:, 1], np.hypot(bright[:, 1], bright[:, 2])
    least_red = float(np.percentile(red, 10))
    teeth = bright[(red <= least_red + _TEETH_RED_SPREAD) & (red <= _TEETH_MAX_RED) & (chroma < _TEETH_MAX_CHROMA)]
    if len(teeth) < max(6, _TEETH_MIN_SHARE * len(opening)):
        return None
    return np.median(teeth, axis=0)


def _inside_colours(picture: np.ndarray, xy: np.ndarray) -> np.ndarray | None:
    """(n, 3) Lab colours of the mouth's inside: its light part (the teeth, where it shows them)
    and its cavity (the dark part, where there is one), or None when the opening holds too few
    pixels. The opening's edge pixels are lip more often than not, so only clearly light and
    clearly dark pixels count. (Not ``_teeth_lab``: this is a colour the seam compares pixels
    against, not one drawn; the stricter choice moved obama_talking's seam by a pixel here and
    there and its closed-loop jaw reading fell 0.88 -> 0.84, the closed mouth looking the same.)"""
    lab = _opening_lab(picture, xy)
    if lab is None:
        return None
    colours = []
    light, chroma = lab[:, 0], np.hypot(lab[:, 1], lab[:, 2])
    teeth = lab[(light >= np.percentile(light, 60)) & (chroma < 25.0)]
    if len(teeth) >= 4:
        colours.append(np.median(teeth, axis=0))
    cavity = lab[light < _CAVITY_LIGHT]
    if len(cavity) >= 4:
        colours.append(np.median(cavity, axis=0))
    return np.array(colours) if colours else None


def closing_field(
    moved: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    axes: np.ndarray,
    fh: float,
    *,
    upper_share: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """(displacement (V, 2), seam (11, 2)), px: what brings the lines ``upper`` and ``lower``
    (each (11, 2), corner → corner: the refined inner lips) together, for the vertices ``moved``
    (V, 2; the first 478 are the landmarks). Each upper point goes to the seam point
    ``upper_share`` of the way to its lower partner (and that one up to it); every other vertex
    takes its lip's movement at its x, fading out with its distance from the line towards the
    nose and the chin. The inner-lip landmarks themselves are left to the caller (their lines
    replace them)."""
    origin = moved[13].astype(np.float64)
    q = to_face(moved.astype(np.float64), axes, origin, fh)
    u, lo = to_face(upper, axes, origin, fh), to_face(lower, axes, origin, fh)
    seam = u + upper_share * (lo - u)
    du, dl = seam - u, seam - lo
    ux, lx = np.argsort(u[:, 0]), np.argsort(lo[:, 0])
    x, y = q[:, 0], q[:, 1]
    y_upper = np.interp(x, u[ux, 0], u[ux, 1])
    y_lower = np.interp(x, lo[lx, 0], lo[lx, 1])
    upper_side = y < (y_upper + y_lower) / 2
    middle = len(UPPER) // 2
    reach_up = 0.9 * max(float(u[middle, 1] - q[_SUBNASALE, 1]), 1e-3)
    reach_down = 0.8 * max(float(q[fm.CHIN, 1] - lo[middle, 1]), 1e-3)
    away = np.where(upper_side, (y_upper - y) / reach_up, (y - y_lower) / reach_down)
    t = np.clip(away, 0.0, 1.0)
    fall = 1.0 - t * t * (3.0 - 2.0 * t)
    along = np.stack([
        np.where(upper_side, np.interp(x, u[ux, 0], du[ux, c]), np.interp(x, lo[lx, 0], dl[lx, c]))
        for c in (0, 1)
    ], axis=1)  # fmt: skip
    d = along * fall[:, None]
    seam_px = origin + seam @ axes * fh
    return d @ axes * fh, seam_px


def corner_guards(upper: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(points (4, 2), corners (4,)): two points beside each mouth corner, one above and one
    below the line the seam will take out of it, that move with their corner (landmark index).

    When the lips close, the opening's wedge at a corner closes too, and the skin beside the
    corner has to fill the whole turn around it. A single neighbour there cannot: one of its two
    triangles would turn over. Two neighbours on either side of the seam's line can."""
    points, corners = [], []
    for end, near in ((0, 1), (-1, -2)):
        corner = upper[end]
        mouth = (upper[near] + lower[near]) / 2 - corner  # into the mouth along the seam
        reach = float(np.linalg.norm(mouth))
        out = -mouth / max(reach, 1e-9)
        across = np.array([-out[1], out[0]])
        for side in (1.0, -1.0):
            points.append(corner + 0.5 * reach * (out + side * across) / np.sqrt(2.0))
            corners.append(UPPER[end])
    return np.array(points), np.array(corners, np.int64)


def limit_jaw(
    jaw: np.ndarray,
    points: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    axes: np.ndarray,
    fh: float,
    share: float,
) -> np.ndarray:
    """The jaw's closing movement ``jaw`` (V, 2) of the vertices ``points`` (V, 2), limited so
    that near the lips the lower lip rises at most ``share`` of the gap between the lines
    ``upper`` and ``lower`` (11, 2) at its x: towards the corners, where the lips nearly touch,
    a rigid jaw's rise would push the lower lip through the upper one. Further below the lips
    (a quarter of the way to the chin) the jaw moves in full again."""
    origin = points[13].astype(np.float64)
    q = to_face(points.astype(np.float64), axes, origin, fh)
    u, lo = to_face(upper, axes, origin, fh), to_face(lower, axes, origin, fh)
    order = np.argsort(lo[:, 0])
    rise = -(jaw[LOWER] @ axes[1]) / fh  # how far the jaw lifts each lower inner-lip point
    x = q[:, 0]
    gap = np.interp(x, lo[order, 0], (lo[:, 1] - u[:, 1])[order])
    lifted = np.interp(x, lo[order, 0], rise[order])
    allowed = np.clip(share * np.clip(gap, 0.0, None) / np.maximum(lifted, 1e-6), 0.0, 1.0)
    below = (q[:, 1] - np.interp(x, lo[order, 0], lo[order, 1])) / (0.25 * (q[fm.CHIN, 1] - lo[5, 1]))
    t = np.clip(below, 0.0, 1.0)
    full = t * t * (3.0 - 2.0 * t)
    return jaw * (allowed + (1.0 - allowed) * full)[:, None]


def _seam_window(picture: np.ndarray, seam: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the part of ``picture`` within ``pad`` pixels of ``seam``'s box."""
    lo = np.floor(seam.min(axis=0)).astype(int) - pad
    hi = np.ceil(seam.max(axis=0)).astype(int) + pad + 1
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    return x0, y0, min(int(hi[0]), picture.shape[1]), min(int(hi[1]), picture.shape[0])


def _draw_seam(canvas: np.ndarray, seam: np.ndarray, origin: tuple[int, int], thickness: int,
               line_type: int) -> None:
    """Draws ``seam`` (N, 2; corner → corner) into ``canvas`` (H, W) at its strength along the
    seam: full at the middle, nothing at the corners (where the photo has its own crease)."""
    local = np.round((seam - origin) * 16).astype(np.int64)
    n = len(seam) - 1
    for k in range(n):
        along = (k + 0.5) / n
        strength = 1.0 - abs(2.0 * along - 1.0) ** 3
        value = float(strength) if canvas.dtype == np.float32 else round(255 * strength)
        a, b = (int(v) for v in local[k]), (int(v) for v in local[k + 1])
        cv2.line(canvas, tuple(a), tuple(b), value, thickness, line_type, 4)


def _mend_seam(picture: np.ndarray, seam: np.ndarray) -> np.ndarray:
    """``picture`` with a thin band along ``seam`` filled in from the lips on either side. The
    pixels that meet there are the photo's inner lip edges, which on a small face are half
    mouth cavity: met, they made a dashed dark line (children, 89 px: MediaPipe read the closed
    lips 0.02 face heights apart, a parted mouth; filled, 0.008)."""
    x0, y0, x1, y1 = _seam_window(picture, seam, _MEND_BAND_PX + 6)
    if x1 - x0 < 3 or y1 - y0 < 3:
        return picture
    band = np.zeros((y1 - y0, x1 - x0), np.uint8)  # the whole band is filled ...
    local = np.round((seam - [x0, y0]) * 16).astype(np.int32)
    cv2.polylines(band, [local], False, 255, _MEND_BAND_PX, cv2.LINE_8, 4)
    drawn = np.zeros(band.shape, np.float32)
    _draw_seam(drawn, seam, (x0, y0), _MEND_BAND_PX + 2, cv2.LINE_AA)
    weight = cv2.GaussianBlur(drawn, (0, 0), sigmaX=0.7)[..., None]  # ... and blended in
    region = np.ascontiguousarray(picture[y0:y1, x0:x1])
    filled = cv2.inpaint(region, band, 2.0, cv2.INPAINT_TELEA)
    out = picture.copy()
    mixed = region.astype(np.float32) * (1.0 - weight) + filled.astype(np.float32) * weight
    out[y0:y1, x0:x1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
    return out


def shade_seam(picture: np.ndarray, seam: np.ndarray, fh: float) -> np.ndarray:
    """``picture`` with the lips' meeting line drawn along ``seam`` (N, 2; corner → corner): the
    band where the inner lip edges met filled from the lips around it (``_mend_seam``), then its
    pixels darkened a little, most at the middle, nothing at the corners."""
    picture = _mend_seam(picture, seam)
    x0, y0, x1, y1 = _seam_window(picture, seam, 6)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return picture
    line = np.zeros((y1 - y0, x1 - x0), np.uint8)
    _draw_seam(line, seam, (x0, y0), 1, cv2.LINE_AA)
    sigma = max(0.6, _SEAM_WIDTH * fh)
    mask = cv2.GaussianBlur(line.astype(np.float32), (0, 0), sigmaX=sigma)
    peak = float(mask.max())
    if peak <= 0.0:
        return picture
    out = picture.copy()
    shade = 1.0 - _SEAM_DEPTH * (mask / peak)[..., None]
    region = out[y0:y1, x0:x1].astype(np.float32) * shade
    out[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)
    return out


def teeth_color(picture: np.ndarray, landmarks: np.ndarray) -> np.ndarray | None:
    """RGB of the teeth the photo shows between the inner lips (``_teeth_lab``), or None when
    it shows none. Only the opening's inside counts (a pixel in from the lip line): closed lips
    leave none of it, whatever colour they are."""
    lab = _opening_lab(picture, landmarks[:, :2].astype(np.float64))
    teeth = _teeth_lab(lab) if lab is not None else None
    if teeth is None:
        return None
    rgb = cv2.cvtColor(teeth.reshape(1, 1, 3).astype(np.float32), cv2.COLOR_Lab2RGB).reshape(3)
    return np.clip(rgb * 255.0, 0.0, 255.0)
