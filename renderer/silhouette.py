"""The head's silhouette: which landmarks a photo actually shows at the outline, and keeping the
outline whole while the head turns.

In a turned photo MediaPipe places the far side's face-oval landmarks where the skull would be,
behind the cheek that forms the visible edge: their depth is the hidden skull's, so turning the
head would move them unlike the cheek pixels they sit on, and the mesh would fold there (a
stair-stepped edge). ``visible_depth`` gives such hidden points the depth of the visible surface
in front of them. The visible outline is then the face oval together with whatever the photo
shows beyond it (a cheek, the nose tip of a three-quarter view): ``Outline`` keeps the hair rings
outside it and the face's inner points inside it as the head turns.
"""

from __future__ import annotations

import numpy as np

from avatars import face as fm

_OVAL = np.array(fm.FACE_OVAL)
_IRISES = np.array(fm.RIGHT_IRIS + fm.LEFT_IRIS)
# A face-oval point is hidden when a landmark lies beyond it (farther from the face's centre,
# within _STRIP face heights of the ray through it) and nearer the camera by _NEARER or more.
_STRIP, _NEARER = 0.03, 0.05
_SURFACE = 0.04  # face heights: the reach of the visible neighbours whose depth a hidden point takes
_BAND = 0.004  # face heights: the thinnest a hidden strip at the outline gets
_REACH = 0.35  # face heights: the farthest inside the outline a point can pass it (±20°)
_BEYOND = 0.002  # face heights: a point this far past the oval at rest belongs to the outline


def hidden_oval_points(xy: np.ndarray, z: np.ndarray, face_height: float) -> np.ndarray:
    """(k,) indices of face-oval landmarks hidden behind a nearer landmark beyond them, for
    landmarks ``xy`` (478, 2) with depths ``z`` (478,) (larger = farther), in pixels."""
    center = xy[_OVAL].mean(axis=0)
    rel = xy - center
    oval_rel = rel[_OVAL]
    radius = np.linalg.norm(oval_rel, axis=1)
    along = oval_rel / np.maximum(radius, 1e-6)[:, None]  # (k, 2) the rays through oval points
    across = np.stack([-along[:, 1], along[:, 0]], axis=1)
    t = rel @ along.T  # (478, k): how far out along each ray
    lateral = np.abs(rel @ across.T)
    beyond = ((t > radius[None, :] + 0.005 * face_height) & (lateral < _STRIP * face_height)
              & (z[:, None] < z[_OVAL][None, :] - _NEARER * face_height))  # fmt: skip
    return _OVAL[beyond.any(axis=0)]


def visible_depth(xy: np.ndarray, z: np.ndarray, face_height: float) -> np.ndarray:
    """(478,) depths with each hidden face-oval point given the depth of the visible surface
    around it (the mean of its visible neighbours' depths, by distance)."""
    hidden = hidden_oval_points(xy, z, face_height)
    out = z.astype(np.float64).copy()
    if hidden.size == 0:
        return out
    visible = np.setdiff1d(np.arange(len(z)), np.concatenate([hidden, _IRISES]))
    d = np.linalg.norm(xy[hidden, None] - xy[None, visible], axis=2)  # (h, n)
    reach = _SURFACE * face_height
    weight = np.exp(-((d / reach) ** 2))
    weight[d > 3.0 * reach] = 0.0
    total = weight.sum(axis=1)
    depth = (weight @ z[visible]) / np.maximum(total, 1e-9)
    found = total > 1e-6
    out[hidden[found]] = np.minimum(out[hidden[found]], depth[found])
    return out


def _soft_floor(gap: np.ndarray, band: float, *, sign: float) -> np.ndarray:
    """``gap`` unchanged where ``sign * gap`` is at least 2 ``band``; below that it eases
    (smoothly, monotonically) to no less than ``band``: a fold becomes a thin band."""
    g = sign * gap
    eased = band + band * np.exp(np.minimum(g - 2.0 * band, 0.0) / band)
    return sign * np.where(g >= 2.0 * band, g, eased)


class Outline:
    """Keeps a turning head's outline whole, for one rest mesh (landmarks and the hair rings).

    Turned away, the side of the face hides behind the cheek in front of it: the warp cannot fold,
    so what would pass the outline is pressed into a thin band inside it, and the hair rings stay
    outside it. The outline is the face oval and, where the photo shows more beyond it (a turned
    cheek, a nose tip), those points too.
    """

    def __init__(self, rest_xy: np.ndarray, rings: np.ndarray, face_height: float) -> None:
        marks = rest_xy[: fm.NUM_LANDMARKS]
        self._face_height = face_height
        self._rings = rings
        center = marks[_OVAL].mean(axis=0)
        inside = np.setdiff1d(np.arange(fm.NUM_LANDMARKS), _OVAL)
        oval_radius = _oval_radius(marks[_OVAL] - center, marks[inside] - center)
        past = np.linalg.norm(marks[inside] - center, axis=1) - oval_radius
        # points the photo shows beyond the oval are part of the outline, not pressed into it
        self._edge = inside[past > _BEYOND * face_height]
        inside = inside[past <= _BEYOND * face_height]
        to_outline = np.linalg.norm(marks[inside, None] - marks[None, _OVAL], axis=2)
        # only points this near the outline can reach it within the head's range of turn
        self._inner = inside[to_outline.min(axis=1) < _REACH * face_height]

    def keep(self, xy: np.ndarray) -> None:
        """Press inner points inside the outline and the rings outside it (``xy`` (V, 2), in
        place)."""
        center = xy[_OVAL].mean(axis=0)
        outline = np.concatenate([_OVAL, self._edge])
        rel = xy[outline] - center
        angles = np.arctan2(rel[:, 1], rel[:, 0])
        radii = np.hypot(rel[:, 0], rel[:, 1])
        angles, radii = _upper_envelope(angles, radii, len(_OVAL))
        band = _BAND * self._face_height
        inner = xy[self._inner] - center
        r = np.hypot(inner[:, 0], inner[:, 1])
        limit = np.interp(np.arctan2(inner[:, 1], inner[:, 0]), angles, radii, period=2 * np.pi)
        squeezed = limit + _soft_floor(r - limit, band, sign=-1.0)
        xy[self._inner] = center + inner * (squeezed / np.maximum(r, 1e-6))[:, None]
        out = xy[self._rings] - center  # (2 * 36, 2): ring by ring, one point per oval point
        r = np.hypot(out[:, 0], out[:, 1])
        below = radii_oval = np.hypot(rel[: len(_OVAL), 0], rel[: len(_OVAL), 1])
        if self._edge.size:  # the outline beyond the oval, in each ring point's direction
            toward = np.arctan2(out[: len(_OVAL), 1], out[: len(_OVAL), 0])
            below = np.maximum(radii_oval, np.interp(toward, angles, radii, period=2 * np.pi))
        pushed = np.empty_like(r)
        n_oval = len(_OVAL)
        for k in range(len(r) // n_oval):
            ring = slice(k * n_oval, (k + 1) * n_oval)
            pushed[ring] = below + _soft_floor(r[ring] - below, band, sign=1.0)
            below = pushed[ring]
        xy[self._rings] = center + out * (pushed / np.maximum(r, 1e-6))[:, None]


def _oval_radius(oval_rel: np.ndarray, points_rel: np.ndarray) -> np.ndarray:
    """The oval's radius (about its centre) in the direction of each point."""
    angles = np.arctan2(oval_rel[:, 1], oval_rel[:, 0])
    order = np.argsort(angles)
    radii = np.hypot(oval_rel[:, 0], oval_rel[:, 1])
    directions = np.arctan2(points_rel[:, 1], points_rel[:, 0])
    return np.interp(directions, angles[order], radii[order], period=2 * np.pi)


def _upper_envelope(angles: np.ndarray, radii: np.ndarray, n_oval: int
                    ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Sorted (angles, radii) of the outline: the oval's first ``n_oval`` samples, raised where a
    further point lies beyond it (each such point a peak the outline rises to)."""
    oval_a, oval_r = angles[:n_oval], radii[:n_oval]
    order = np.argsort(oval_a)
    oval_a, oval_r = oval_a[order], oval_r[order]
    if len(angles) == n_oval:
        return oval_a, oval_r
    extra_a, extra_r = angles[n_oval:], radii[n_oval:]
    # the oval, sampled at its own angles and the extra points' angles
    at = np.concatenate([oval_a, extra_a])
    r = np.interp(at, oval_a, oval_r, period=2 * np.pi)
    # each extra point raises the outline around it like a cone (its width ~ its own size)
    width = 0.08
    for a, rr in zip(extra_a, extra_r, strict=True):
        gap = np.abs(np.angle(np.exp(1j * (at - a))))
        r = np.maximum(r, rr * (1.0 - gap / width))
    order = np.argsort(at)
    return at[order], r[order]
