"""An exact piecewise-affine warp of a picture by a triangle mesh, run once at build time.

Every output pixel is mapped back through the affine map of the one output triangle that holds
it, at the picture's full resolution. A triangle brought to zero area shows nothing of what it
covered: that is how a relaxed mouth hides its teeth. The opening between the lips is a *seam*:
two polylines (the upper and the lower lip's edge, sharing their ends) whose inside is
triangulated as a strip of rungs between them, so that bringing each pair of points together
collapses every strip triangle onto the line where the lips meet.

The renderer's ``renderer.warp.DenseWarp`` does the per-frame warping, and both exist because
they answer different needs: that one has a few milliseconds per frame (displacements on a coarse
grid, the inverse found by fixed-point steps, upsampled), so it is smooth and never exact where
the mesh collapses (squeezed teeth stay a visible strip); this one runs once per character, takes
a fraction of a second, and is exact, but could never keep up with 25 frames a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

_SPLIT_ROUNDS = 7  # halvings of a seam's segments until Delaunay keeps them (2**7 per segment)
_INSIDE = -1e-6  # barycentric weight still counted inside a triangle (pixels on an edge)
_DEGENERATE = 1e-6  # px²: a target triangle this small holds no pixel


class MeshError(ValueError):
    """The points and seams cannot be triangulated as asked."""


@dataclass(frozen=True)
class Mesh:
    """A triangulation of given points plus the points it added along seams.

    ``points`` are the given points followed by the added ones; each added point is the mean of
    two earlier points (``parents``), so any per-point quantity (a target position) extends to
    them with ``extend``. ``strip`` marks the triangles inside a seam, which may collapse.
    """

    points: np.ndarray  # (N, 2) float64
    triangles: np.ndarray  # (T, 3) int, each with a positive ``signed_areas``
    strip: np.ndarray  # (T,) bool
    parents: np.ndarray  # (N - given, 2) int: the two points each added point halves
    seams: tuple[tuple[np.ndarray, np.ndarray], ...]  # (upper, lower) point indices, refined

    def extend(self, values: np.ndarray) -> np.ndarray:
        """Per-point values (given, ...) extended to every point (N, ...) by halving."""
        out = np.empty((len(self.points),) + values.shape[1:], np.float64)
        given = len(self.points) - len(self.parents)
        out[:given] = values
        for k, (a, b) in enumerate(self.parents):
            out[given + k] = (out[a] + out[b]) / 2
        return out


def _edges(simplices: np.ndarray) -> set[tuple[int, int]]:
    pairs = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [2, 0]]])
    pairs.sort(axis=1)
    return {(int(a), int(b)) for a, b in pairs}


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(T,) twice the signed area of each triangle; ``triangulate`` orients every triangle of a
    mesh so that it is positive (clockwise as seen on screen, where y points down)."""
    a, b, c = (points[triangles[:, k]] for k in range(3))
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def triangulate(points: np.ndarray, seams: Sequence[tuple[Sequence[int], Sequence[int]]]) -> Mesh:
    """Delaunay triangulation of ``points`` (N, 2) that keeps every seam's edges, each seam's
    inside triangulated as a strip between its two polylines.

    A seam is (upper, lower): point indices of two polylines of equal length from a shared first
    point to a shared last point. Where Delaunay would cut across a seam's edge, both polylines'
    segments there are halved (the same halving on both, so the rungs stay paired) until none is.
    """
    pts = [np.asarray(p, np.float64) for p in np.asarray(points, np.float64)[:, :2]]
    parents: list[tuple[int, int]] = []
    lines = [(list(map(int, upper)), list(map(int, lower))) for upper, lower in seams]
    for upper, lower in lines:
        if len(upper) != len(lower) or len(upper) < 3 or upper[0] != lower[0] or upper[-1] != lower[-1]:
            raise MeshError("a seam needs two polylines of equal length sharing their ends")

    def halve(a: int, b: int) -> int:
        pts.append((pts[a] + pts[b]) / 2)
        parents.append((a, b))
        return len(pts) - 1

    for attempt in range(_SPLIT_ROUNDS + 1):
        tri = Delaunay(np.array(pts))
        edges = _edges(tri.simplices)
        cut = False
        for s, (upper, lower) in enumerate(lines):
            new_upper, new_lower = [upper[0]], [lower[0]]
            for k in range(len(upper) - 1):
                kept = all((min(line[k], line[k + 1]), max(line[k], line[k + 1])) in edges
                           for line in (upper, lower))  # fmt: skip
                if not kept:
                    cut = True
                    if attempt < _SPLIT_ROUNDS:
                        new_upper.append(halve(upper[k], upper[k + 1]))
                        new_lower.append(halve(lower[k], lower[k + 1]))
                new_upper.append(upper[k + 1])
                new_lower.append(lower[k + 1])
            lines[s] = (new_upper, new_lower)
        if not cut:
            break
    else:
        raise MeshError("Delaunay keeps cutting across a seam (its two lips nearly touch)")
    every = np.array(pts)
    triangles = tri.simplices.astype(np.int64)
    if len(tri.coplanar):
        raise MeshError(f"{len(tri.coplanar)} points coincide with others; cannot triangulate them")
    keep = np.ones(len(triangles), bool)
    strips: list[np.ndarray] = []
    for upper, lower in lines:
        outline = every[upper + lower[-2:0:-1]].astype(np.float32)
        centroids = every[triangles].mean(axis=1)
        inside = np.array([cv2.pointPolygonTest(outline, (float(x), float(y)), False) > 0
                           for x, y in centroids])  # fmt: skip
        keep &= ~inside
        strips.append(_strip(every, upper, lower))
    triangles = triangles[keep]
    orient = signed_areas(every, triangles) < 0
    triangles[orient] = triangles[orient][:, [0, 2, 1]]
    strip = np.concatenate([np.zeros(len(triangles), bool)] + [np.ones(len(s), bool) for s in strips])
    triangles = np.concatenate([triangles] + strips) if strips else triangles
    return Mesh(points=every, triangles=triangles, strip=strip,
                parents=np.array(parents, np.int64).reshape(-1, 2),
                seams=tuple((np.array(u), np.array(lo)) for u, lo in lines))  # fmt: skip


def _strip(points: np.ndarray, upper: list[int], lower: list[int]) -> np.ndarray:
    """Triangles filling the seam between ``upper`` and ``lower``: each rung (upper[k], lower[k])
    to the next is a quad split along whichever diagonal keeps both halves the right way round."""
    out: list[tuple[int, int, int]] = []
    for k in range(len(upper) - 1):
        u0, u1, l0, l1 = upper[k], upper[k + 1], lower[k], lower[k + 1]
        if u0 == l0:
            options = [[(u0, l1, u1)]]
        elif u1 == l1:
            options = [[(u0, l0, u1)]]
        else:
            options = [[(u0, l1, u1), (u0, l0, l1)], [(u0, l0, u1), (u1, l0, l1)]]
        best = max(options, key=lambda tris: signed_areas(points, np.array(tris)).min())
        out.extend(best)
    tris = np.array(out, np.int64).reshape(-1, 3)
    flip = signed_areas(points, tris) < 0  # a seam drawn the other way round (lower above upper)
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return tris


def folded(mesh: Mesh, target: np.ndarray, *, least: float = 0.0) -> np.ndarray:
    """(T,) bool: triangles that turn over at ``target`` (N, 2), or keep less than ``least`` of
    their area. Strip triangles may collapse to nothing but not turn over."""
    before = signed_areas(mesh.points, mesh.triangles)
    after = signed_areas(target, mesh.triangles)
    tolerance = 1e-6 * np.maximum(before, 1.0)
    collapsing = mesh.strip
    bad = np.where(collapsing, after < -tolerance - 1e-3, after < least * before - tolerance)
    return bad


def warp(image: np.ndarray, mesh: Mesh, target: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) warped so that each mesh point moves to ``target`` (N, 2): each output
    pixel is read through the affine map of the target triangle that holds it (bilinear).

    Only the box the moving triangles cover is computed; elsewhere the picture is copied, so an
    unmoved mesh returns the picture unchanged.
    """
    height, width = image.shape[:2]
    out = image.copy()
    source = mesh.points
    target = np.asarray(target, np.float64)
    moved = np.any(np.abs(target - source) > 1e-9, axis=1)
    active = mesh.triangles[moved[mesh.triangles].any(axis=1)]
    if not len(active):
        return out
    corners = np.concatenate([target[active], source[active]]).reshape(-1, 2)
    x0 = int(np.clip(np.floor(corners[:, 0].min()) - 1, 0, width))
    x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 2, 0, width))
    y0 = int(np.clip(np.floor(corners[:, 1].min()) - 1, 0, height))
    y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 2, 0, height))
    if x1 <= x0 or y1 <= y0:
        return out
    gx, gy = np.meshgrid(np.arange(x0, x1, dtype=np.float64), np.arange(y0, y1, dtype=np.float64))
    map_x, map_y = gx.copy(), gy.copy()  # identity where nothing moves
    areas = signed_areas(target, active)
    for tri in active[areas > _DEGENERATE]:
        t, s = target[tri], source[tri]
        bx0, by0 = np.maximum(np.floor(t.min(axis=0)).astype(int), (x0, y0))
        bx1, by1 = np.minimum(np.ceil(t.max(axis=0)).astype(int) + 1, (x1, y1))
        if bx1 <= bx0 or by1 <= by0:
            continue
        # barycentric weights of the pixel centres in the target triangle
        inverse = np.linalg.inv(np.vstack([t.T, np.ones(3)]))  # (3, 3)
        px = gx[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        py = gy[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0]
        w = (inverse[:, 0, None, None] * px + inverse[:, 1, None, None] * py
             + inverse[:, 2, None, None])  # fmt: skip
        inside = w.min(axis=0) >= _INSIDE
        if not inside.any():
            continue
        # weights clamped into the triangle: the source point never leaves the source triangle
        w = np.clip(w[:, inside], 0.0, None)
        w /= w.sum(axis=0)
        rows, cols = np.nonzero(inside)
        map_x[by0 - y0 + rows, bx0 - x0 + cols] = s[:, 0] @ w
        map_y[by0 - y0 + rows, bx0 - x0 + cols] = s[:, 1] @ w
    out[y0:y1, x0:x1] = cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32),
                                  cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out
