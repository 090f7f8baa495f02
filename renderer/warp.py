"""Dense warping driven by mesh-vertex displacements, without per-frame Python loops.

The rest mesh (a Delaunay triangulation of the rig's vertices plus an image-border frame) is
rasterised once into per-pixel barycentric weights on a grid ``step`` pixels apart: a sparse matrix
(grid points × vertices). Each frame, vertex displacements become a dense forward displacement
field by one sparse product; the backward map the remap needs is the field's inverse, found by a
few fixed-point steps on the coarse grid (u = d(x − u)); the map is then upsampled and applied to
the whole frame with ``cv2.remap``. Border vertices never move, so the background stays put and the
piecewise-linear field has no holes or seams. The source may reach past the output frame
(``margins``: where the photo goes on past the frame's edges); the frame's points then read what a
moving head pulls in from there.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import sparse
from scipy.spatial import Delaunay

_INVERSE_STEPS = 6
_FULL_STEPS = 3
_DAMPING = 0.5
_TOLERANCE = 2.0  # px: a backward displacement that misses by more has not converged
_FOLDED_SHARE = 0.01  # above this share of unconverged points the mesh folds: try a splat start
_STILL = 0.01  # px: displacements below this are no motion
# px: a backward displacement whose second difference between neighbouring grid points is larger
# has jumped between the layers of a fold (smooth maps stay well under 1 px)
_BRANCH_JUMP = 3.0
_SECOND_DIFFERENCE = np.array([[1.0], [-2.0], [1.0]], np.float32)
_SHARP = 0.99  # a grid point read from where the ``sharp`` weight is at least this stays as solved


def border_vertices(width: int, height: int, per_side: int = 6) -> np.ndarray:
    """(N, 2) points on (and just outside) the frame's edge; they never move."""
    xs = np.linspace(-1.0, width, per_side + 1)
    ys = np.linspace(-1.0, height, per_side + 1)
    top = np.stack([xs, np.full_like(xs, -1.0)], axis=1)
    bottom = np.stack([xs, np.full_like(xs, float(height))], axis=1)
    left = np.stack([np.full_like(ys[1:-1], -1.0), ys[1:-1]], axis=1)
    right = np.stack([np.full_like(ys[1:-1], float(width)), ys[1:-1]], axis=1)
    return np.concatenate([top, bottom, left, right]).astype(np.float64)


class DenseWarp:
    """Backward remap of a (height, width) frame from displacements of ``vertices``."""

    def __init__(
        self,
        vertices: np.ndarray,
        width: int,
        height: int,
        *,
        step: int = 2,
        layer: np.ndarray | None = None,
        sharp: np.ndarray | None = None,
        margins: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> None:
        """``width`` × ``height``: the source the warp reads (vertices in its pixels); the output
        frame is that less ``margins`` px (left, top, right, bottom), from which what a head near
        the frame's edge pulls in is read. ``layer`` (V,): where the deformed mesh folds over
        itself, the surface with the higher layer is in front (the head over the background).
        ``sharp`` (V,): 1 where the map must stay as solved (the face's own features: lids and
        lips compress steeply by design), 0 where a fold's stair-step may be smoothed
        (``_smooth_branch_jumps``); default all 0."""
        if step < 1 or width % step or height % step or any(m % step for m in margins):
            raise ValueError(f"grid step {step} must divide the source size {width}x{height} and the margins {margins}")
        left, top, right, bottom = margins
        if min(margins) < 0 or left + right >= width or top + bottom >= height:
            raise ValueError(f"margins {margins} leave no frame in a {width}x{height} source")
        self.width, self.height, self.step = width, height, step
        # the output frame in the source's grid: rows r0:r1, columns c0:c1
        self._view = (top // step, (height - bottom) // step, left // step, (width - right) // step)
        self.margins = margins
        xy = np.asarray(vertices, np.float64)[:, :2]
        # Vertices off the source are left out: its edge is pinned by the border vertices.
        self._inside = np.flatnonzero(
            (xy[:, 0] > 0) & (xy[:, 0] < width - 1) & (xy[:, 1] > 0) & (xy[:, 1] < height - 1)
        )
        points = np.concatenate([xy[self._inside], border_vertices(width, height)])
        self.n_vertices = int(xy.shape[0])
        self.triangles = Delaunay(points)
        gw, gh = width // step, height // step
        # Coarse grid points sit where cv2.resize puts the centres of upsampled pixels.
        gx = (np.arange(gw) + 0.5) * step - 0.5
        gy = (np.arange(gh) + 0.5) * step - 0.5
        grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)  # (gh*gw, 2)
        self._weights = _barycentric_matrix(self.triangles, grid, points.shape[0], step, (gh, gw))
        # the same weights over the caller's vertices (border vertices never move: no column)
        self._vertex_weights = _over_vertices(self._weights, self._inside, self.n_vertices)
        self._coarse_shape = (gh, gw)
        self._coarse_grid = np.stack(np.meshgrid(np.arange(gw, dtype=np.float32),
                                                 np.arange(gh, dtype=np.float32)), axis=-1)  # fmt: skip
        per_vertex = np.zeros(points.shape[0])
        if layer is not None:
            per_vertex[: self._inside.size] = np.asarray(layer, np.float64)[self._inside]
        self._layer = (self._weights @ per_vertex).reshape(gh, gw).astype(np.float32)
        per_vertex = np.zeros(points.shape[0])
        if sharp is not None:
            per_vertex[: self._inside.size] = np.asarray(sharp, np.float64)[self._inside]
        self._sharp = (self._weights @ per_vertex).reshape(gh, gw).astype(np.float32)
        xs, ys = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._grid_x, self._grid_y = xs, ys
        # pixel positions of the coarse grid points, with one more point before and after
        # each row and column: index i is grid point i − 1
        px = (np.arange(-1, gw + 1, dtype=np.float32) + 0.5) * step - 0.5
        py = (np.arange(-1, gh + 1, dtype=np.float32) + 0.5) * step - 0.5
        self._coarse_px = np.stack(np.meshgrid(px, py), axis=-1)  # (gh + 2, gw + 2, 2)

    def backward_field(
        self, displacement: np.ndarray, painted: tuple[float, float, float, float] | None = None
    ) -> np.ndarray:
        """Vertex displacements (V, 2) → coarse backward displacement (gh, gw, 2), pixels.

        A pixel x of the output shows the source at x − u(x), where u = d(x − u). Only the block
        of the grid the motion can reach is solved; elsewhere u = 0. ``painted``: an output box
        (x0, y0, x1, y1) drawn over afterwards (an open mouth); the steep stretch there need not
        converge, so it does not count as a fold.
        """
        forward = self._vertex_weights @ np.asarray(displacement, np.float32)  # (gh*gw, 2)
        forward = forward.reshape(*self._coarse_shape, 2)
        inverse = np.zeros_like(forward)
        block = _moving_block(forward, self.step)
        if block is None:
            return inverse
        r0, r1, c0, c1 = self._shown(block, forward)
        local = self._coarse_grid[: r1 - r0, : c1 - c0]  # the block's own grid coordinates
        ignore = None
        if painted is not None:
            x0, y0, x1, y1 = (v / self.step for v in painted)
            ignore = (int(np.floor(y0)) - r0, int(np.ceil(y1)) - r0 + 1,
                      int(np.floor(x0)) - c0, int(np.ceil(x1)) - c0 + 1)  # fmt: skip
        solved = self._solve(forward[r0:r1, c0:c1], local, self._layer[r0:r1, c0:c1], ignore)
        # the face's own features, where each point is read from, keep their solved map
        at = local - solved / self.step
        sharp = cv2.remap(self._sharp[r0:r1, c0:c1], at[..., 0], at[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE) >= _SHARP  # fmt: skip
        if ignore is not None:
            a, b, c, d = ignore
            sharp[max(a, 0) : max(b, 0), max(c, 0) : max(d, 0)] = True
        smoothed = _smooth_branch_jumps(solved, sharp)
        if smoothed is not solved:
            # smoothing never reads from past the frame's edge (that would stretch the edge)
            source = self._coarse_px[r0 + 1 : r1 + 1, c0 + 1 : c1 + 1] - smoothed
            past = ((source[..., 0] < -0.5) | (source[..., 0] > self.width - 0.5)
                    | (source[..., 1] < -0.5) | (source[..., 1] > self.height - 0.5))  # fmt: skip
            smoothed[past] = solved[past]
        inverse[r0:r1, c0:c1] = smoothed
        return inverse

    def _shown(self, block: tuple[int, int, int, int], forward: np.ndarray) -> tuple[int, int, int, int]:
        """``block`` of the grid less the margins beyond what the frame's points can read: only
        the frame is shown, and its points read into the margins no further than the largest
        displacement near its edge."""
        if not any(self.margins):
            return block
        r0, r1, c0, c1 = block
        v0, v1, w0, w1 = self._view
        most = 1 + int(np.ceil(np.abs(forward[r0:r1, c0:c1]).max() / self.step))
        # only points within ``most`` of the frame's edge can read past it: the largest
        # displacement along that edge bounds how far into the margins to solve
        a, b, c, d = max(r0, v0 - most), min(r1, v1 + most), max(c0, w0 - most), min(c1, w1 + most)
        strips = (forward[a : min(b, v0 + most), c:d], forward[max(a, v1 - most) : b, c:d],
                  forward[a:b, c : min(d, w0 + most)], forward[a:b, max(c, w1 - most) : d])  # fmt: skip
        edge = max((float(np.abs(x).max()) for x in strips if x.size), default=0.0)
        reach = 1 + int(np.ceil(edge / self.step))
        return max(r0, v0 - reach), min(r1, v1 + reach), max(c0, w0 - reach), min(c1, w1 + reach)

    def _solve(
        self,
        forward: np.ndarray,
        grid: np.ndarray,
        layer: np.ndarray,
        ignore: tuple[int, int, int, int] | None = None,
    ) -> np.ndarray:
        inverse, residual = self._iterate(forward, grid, forward)
        missed = residual > _TOLERANCE
        if ignore is not None:
            a, b, c, d = ignore
            missed[max(a, 0) : max(b, 0), max(c, 0) : max(d, 0)] = False
        if np.mean(missed) <= _FOLDED_SHARE:
            return inverse
        # The mesh folds (large head motion): start again from a splat of the forward map,
        # the front surface winning, and keep whichever answer fits better per point.
        splat = self._splat(forward, grid, layer)
        start = np.where(np.isnan(splat), inverse, splat)
        refined, refined_residual = self._iterate(forward, grid, start)
        fits = (refined_residual < residual).astype(np.uint8)
        better = cv2.medianBlur(fits, 5)[..., None] > 0  # whole regions, not speckle
        inverse = np.where(better, refined, inverse)
        residual = np.where(better[..., 0], refined_residual, residual)
        # Where neither converged, a smooth guess beats noise.
        lost = cv2.dilate((residual > 2 * _TOLERANCE).astype(np.uint8), np.ones((3, 3)))
        smooth = cv2.GaussianBlur(inverse, (0, 0), sigmaX=3.0)
        return np.where(lost[..., None] > 0, smooth, inverse)

    def _iterate(
        self, forward: np.ndarray, grid: np.ndarray, inverse: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-point steps u ← u + λ (d(x − u) − u) from ``inverse`` (not changed); returns
        u and its last residual (px)."""
        # in place, on buffers made once: a step is a handful of small passes, and fresh
        # arrays each time cost as much as the arithmetic
        inverse = inverse.copy()
        map_xy = np.empty_like(inverse)  # where to read d, in grid units (one 2-channel map)
        sampled = np.empty_like(inverse)
        change = np.zeros_like(inverse)
        for step in range(_INVERSE_STEPS):
            np.multiply(inverse, -1.0 / self.step, out=map_xy)
            map_xy += grid
            cv2.remap(forward, map_xy, None, cv2.INTER_LINEAR, dst=sampled,  # type: ignore[call-overload]
                      borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
            np.subtract(sampled, inverse, out=change)
            # full steps converge fast where the map is gentle; half steps finish where it
            # compresses strongly (|∇d| up to ~3: lips pressed together)
            if step < _FULL_STEPS:
                inverse += change
            else:
                inverse += _DAMPING * change
        return inverse, np.maximum(np.abs(change[..., 0]), np.abs(change[..., 1]))

    def _splat(self, forward: np.ndarray, grid: np.ndarray, layer: np.ndarray) -> np.ndarray:
        """Each grid point's displacement written where it lands; NaN where nothing lands."""
        gh, gw = forward.shape[:2]
        order = np.argsort(layer.reshape(-1), kind="stable")  # back → front
        flat = forward.reshape(-1, 2)[order]
        target = grid.reshape(-1, 2)[order] + flat / self.step
        ix = np.rint(target[:, 0]).astype(np.int64)
        iy = np.rint(target[:, 1]).astype(np.int64)
        ok = (ix >= 0) & (ix < gw) & (iy >= 0) & (iy < gh)
        out = np.full((gh * gw, 2), np.nan, np.float32)
        out[(iy * gw + ix)[ok]] = flat[ok]  # later (front) writes win
        return _fill_gaps(out.reshape(gh, gw, 2))

    def source_maps(self, backward: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coarse backward field → (map_x, map_y) over the output frame: where each of its pixels
        is read from, in frame pixels (past the frame's edge: the margins)."""
        full = cv2.resize(backward, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        s, (r0, r1, c0, c1) = self.step, self._view
        view = slice(r0 * s, r1 * s), slice(c0 * s, c1 * s)
        left, top = self.margins[:2]
        return (self._grid_x[view] - full[view][..., 0] - left,
                self._grid_y[view] - full[view][..., 1] - top)  # fmt: skip

    def apply(
        self,
        frame: np.ndarray,
        displacement: np.ndarray,
        painted: tuple[float, float, float, float] | None = None,
        *,
        source_rgba: np.ndarray,
    ) -> np.ndarray:
        """The output frame: ``frame`` (the source less its margins, (H, W, 3)) warped by vertex
        displacements (V, 2), read from ``source_rgba`` (the whole source with a fourth channel:
        OpenCV's remap is vectorised for four channels, not three: twice as fast); ``painted``
        as in ``backward_field``. Only the block where the backward field moves anything is
        remapped; the rest is copied."""
        out = frame.copy()
        if not np.any(displacement):
            return out
        backward = self.backward_field(displacement, painted)
        block = _moving_block(backward, self.step, reach=False)
        if block is None:
            return out
        s, (v0, v1, w0, w1) = self.step, self._view
        # only the part of the block inside the frame is shown
        r0, r1, c0, c1 = max(block[0], v0), min(block[1], v1), max(block[2], w0), min(block[3], w1)
        if r0 >= r1 or c0 >= c1:
            return out
        # The absolute map is upsampled directly (the full-size subtraction is the costly
        # part): the block gets a ring of coarse points (its neighbours; past the grid, the
        # edge's displacement, as the resize's replication gives it) whose positions go on past
        # the block, so a linear resize reproduces grid − displacement inside the ring.
        ring = _with_ring(backward, r0, r1, c0, c1)
        coarse = self._coarse_px[r0 : r1 + 2, c0 : c1 + 2] - ring  # (rows + 2, cols + 2, 2)
        full = cv2.resize(coarse, ((c1 - c0 + 2) * s, (r1 - r0 + 2) * s),
                          interpolation=cv2.INTER_LINEAR)  # fmt: skip
        source = full[s:-s, s:-s]
        # four channels remap fastest straight from the float map (which also interpolates
        # finer than the fixed-point map's 1/32 px)
        warped = cv2.remap(source_rgba, source, None, cv2.INTER_LINEAR,  # type: ignore[call-overload]
                           borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        rows, cols = slice((r0 - v0) * s, (r1 - v0) * s), slice((c0 - w0) * s, (c1 - w0) * s)
        cv2.cvtColor(warped, cv2.COLOR_RGBA2RGB, dst=out[rows, cols])  # into the frame, in place
        return out


def _with_ring(field: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """``field[r0:r1, c0:c1]`` with one more point around it: its neighbours in ``field``, and
    past ``field``'s edge that edge replicated."""
    gh, gw = field.shape[:2]
    inner = field[max(r0 - 1, 0) : min(r1 + 1, gh), max(c0 - 1, 0) : min(c1 + 1, gw)]
    top, left = int(r0 == 0), int(c0 == 0)
    bottom, right = int(r1 == gh), int(c1 == gw)
    if top or left or bottom or right:
        return cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return inner


def _smooth_branch_jumps(inverse: np.ndarray, sharp: np.ndarray) -> np.ndarray:
    """``inverse`` (rows, cols, 2) smoothed where it jumps from one grid point to the next,
    except where ``sharp`` (rows, cols) holds.

    Where the mesh folds (a turned head's far cheek over the band of skin and background beside
    it) an output point has two sources and the fixed-point steps settle on either, grid row by
    grid row: each answer fits, together they comb the cheek's edge into a stair-step (a frontal
    photo turned 18°, tom_hanks turned back 10°). Blurred there, the edge is one smooth line."""
    if min(inverse.shape[:2]) < 3:
        return inverse
    # second differences down and across, each component; the largest per point (OpenCV's
    # filters and per-plane maxima: numpy's over a last axis of length 2 cost a millisecond)
    down = np.abs(cv2.filter2D(inverse, -1, _SECOND_DIFFERENCE, borderType=cv2.BORDER_REPLICATE))
    across = np.abs(cv2.filter2D(inverse, -1, _SECOND_DIFFERENCE.T, borderType=cv2.BORDER_REPLICATE))
    jump = cv2.max(down, across)
    jumps = (cv2.max(jump[..., 0], jump[..., 1]) > _BRANCH_JUMP) & ~sharp
    if not jumps.any():
        return inverse
    near = cv2.dilate(jumps.astype(np.uint8), np.ones((3, 3), np.uint8))
    near[sharp] = 0
    out = inverse.copy()
    cv2.copyTo(cv2.GaussianBlur(inverse, (0, 0), sigmaX=1.5), near, out)
    return out


def _moving_block(
    field: np.ndarray, step: int, *, reach: bool = True
) -> tuple[int, int, int, int] | None:
    """Rows r0:r1 and columns c0:c1 of the grid where ``field`` moves anything, one cell wider
    (and, with ``reach``, as much wider again as the largest displacement reaches)."""
    # (numpy's reduction over a last axis of length 2 is slow; compare the planes instead)
    moving = (np.abs(field[..., 0]) > _STILL) | (np.abs(field[..., 1]) > _STILL)
    if not moving.any():
        return None
    rows = np.flatnonzero(moving.any(axis=1))
    cols = np.flatnonzero(moving.any(axis=0))
    margin = 1 + (int(np.ceil(max(field.max(), -field.min()) / step)) if reach else 0)
    gh, gw = field.shape[:2]
    return (max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, gh),
            max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, gw))  # fmt: skip


def _over_vertices(weights: sparse.csr_matrix, inside: np.ndarray, n_vertices: int) -> sparse.csr_matrix:
    """``weights`` (grid × (inside + border points)) as (grid × n_vertices): column k of the
    first ``inside.size`` becomes column ``inside[k]``; the border points' columns are dropped.
    Each row keeps its order, so a product sums the same terms in the same order."""
    keep = weights.indices < inside.size
    per_row = np.add.reduceat(keep.astype(np.int64), weights.indptr[:-1]) if keep.size else keep
    per_row = np.where(np.diff(weights.indptr) > 0, per_row, 0)
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    return sparse.csr_matrix(
        (weights.data[keep], inside[weights.indices[keep]], indptr),
        shape=(weights.shape[0], n_vertices),
    )


def _fill_gaps(field: np.ndarray) -> np.ndarray:
    """Fill the NaN gaps a splat leaves where the map stretches, from valid neighbours."""
    valid = np.isfinite(field[..., 0]).astype(np.float32)
    values = np.nan_to_num(field) * valid[..., None]
    out = field
    for size in (3, 7, 15):
        weight = cv2.boxFilter(valid, -1, (size, size), normalize=False)
        summed = cv2.boxFilter(values, -1, (size, size), normalize=False)
        filled = summed / np.maximum(weight, 1e-6)[..., None]
        out = np.where(np.isfinite(out), out, np.where(weight[..., None] > 0, filled, np.nan))
        if np.isfinite(out).all():
            break
    return out.astype(np.float32)


def _barycentric(corners: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Barycentric weights (..., 3) of ``points`` (..., 2) in triangles ``corners`` (..., 3, 2)."""
    a, b, c = corners[..., 0, :], corners[..., 1, :], corners[..., 2, :]
    v0, v1, v2 = b - a, c - a, points - a
    d00 = (v0 * v0).sum(axis=-1)
    d01 = (v0 * v1).sum(axis=-1)
    d11 = (v1 * v1).sum(axis=-1)
    d20 = (v2 * v0).sum(axis=-1)
    d21 = (v2 * v1).sum(axis=-1)
    denom = d00 * d11 - d01 * d01
    denom = np.where(np.abs(denom) > 1e-12, denom, 1e-12)
    wb = (d11 * d20 - d01 * d21) / denom
    wc = (d00 * d21 - d01 * d20) / denom
    return np.stack([1.0 - wb - wc, wb, wc], axis=-1)


def _locate(
    points: np.ndarray,
    simplices: np.ndarray,
    grid: np.ndarray,
    which: np.ndarray,
    candidates: np.ndarray,
    simplex: np.ndarray,
    weights: np.ndarray,
) -> None:
    """For grid points ``which``, pick among ``candidates`` (n, k) the triangle each is most
    inside; update ``simplex`` and ``weights`` in place."""
    for chunk in np.array_split(np.arange(which.size), max(1, which.size * candidates.shape[1] // 200_000)):
        rows = which[chunk]
        options = candidates[chunk]  # (n, k)
        found = _barycentric(points[simplices[options]], grid[rows][:, None])  # (n, k, 3)
        best = np.argmax(found.min(axis=2), axis=1)
        simplex[rows] = options[np.arange(chunk.size), best]
        weights[rows] = found[np.arange(chunk.size), best]


def _barycentric_matrix(
    tri: Delaunay, grid: np.ndarray, n_points: int, step: int, shape: tuple[int, int]
) -> sparse.csr_matrix:
    """(len(grid), n_points) sparse matrix of each grid point's barycentric weights.

    Triangles are found by rasterising their indices onto the grid, and the weights computed in
    closed form: scipy's ``find_simplex``/``transform`` go through LAPACK once per triangle, which
    with a threaded BLAS on a busy machine takes seconds.
    """
    points = tri.points
    simplices = tri.simplices
    gh, gw = shape
    ids = np.full((gh, gw), -1, np.int32)
    corners = np.round(((points[simplices] + 0.5) / step - 0.5) * 16).astype(np.int32)
    for k, triangle in enumerate(corners):
        cv2.fillConvexPoly(ids, triangle, k, lineType=cv2.LINE_8, shift=4)
    missing = ids < 0
    if missing.any():  # grid points on edges the rasteriser skipped: take a neighbour's triangle
        grown = cv2.dilate(ids, np.ones((3, 3), np.uint8))
        ids = np.where(missing, grown, ids)
    if np.any(ids < 0):
        raise RuntimeError("mesh does not cover the frame")  # border vertices guarantee it
    simplex = ids.reshape(-1).astype(np.int64)
    weights = _barycentric(points[simplices[simplex]], grid)
    # The rasteriser's edges are generous: points it gave a neighbouring triangle (negative
    # weights) are located exactly among the nearby triangles (two rings of neighbours), and
    # the few still outside against every triangle.
    outside = np.flatnonzero(weights.min(axis=1) < -1e-6)
    if outside.size:
        ring = tri.neighbors[simplex[outside]]  # (n, 3), -1 at the hull
        ring = np.where(ring < 0, simplex[outside, None], ring)
        second = tri.neighbors[ring].reshape(outside.size, -1)
        second = np.where(second < 0, simplex[outside, None], second)
        candidates = np.concatenate([simplex[outside, None], ring, second], axis=1)
        _locate(points, simplices, grid, outside, candidates, simplex, weights)
    lost = np.flatnonzero(weights.min(axis=1) < -1e-6)
    if lost.size:
        every = np.broadcast_to(np.arange(len(simplices)), (lost.size, len(simplices)))
        _locate(points, simplices, grid, lost, every, simplex, weights)
    rows = np.repeat(np.arange(grid.shape[0]), 3)
    cols = simplices[simplex].reshape(-1)
    return sparse.csr_matrix(
        (weights.reshape(-1).astype(np.float32), (rows, cols)), shape=(grid.shape[0], n_points)
    )
