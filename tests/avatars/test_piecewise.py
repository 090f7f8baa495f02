"""The exact piecewise-affine warp: a collapsed seam shows nothing of what it covered."""

from __future__ import annotations

import numpy as np
import pytest

from avatars import piecewise as pw


def _mouth_picture() -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """A 120x80 picture: skin, a red lip band, and a white 'teeth' opening between two lip lines
    (12 px apart at the middle, meeting at the corners x = 20 and 100, around a curved middle
    line, as a smile's; the lines a pixel and a half into the lips, as ``avatars.lips`` places
    them); the points of a mesh: the two lines and a grid around them."""
    picture = np.full((80, 120, 3), (200, 160, 140), np.uint8)
    xs = np.linspace(20.0, 100.0, 9)
    bulge = np.sin(np.pi * (xs - 20.0) / 80.0)
    middle = 40.0 + 4.0 * bulge
    upper = np.stack([xs, middle - 6.0 * bulge], 1)
    lower = np.stack([xs, middle + 6.0 * bulge], 1)
    yy, xx = np.mgrid[0:80, 0:120]
    at_x = np.interp(xx, xs, bulge)
    off = np.abs(yy - 40.0 - 4.0 * at_x)
    picture[off <= 6.0 * at_x + 6.0] = (170, 40, 50)  # lips
    picture[off < 6.0 * at_x - 1.5] = (250, 250, 250)  # teeth
    grid = np.stack(np.meshgrid(np.linspace(-1, 120, 9), np.linspace(-1, 80, 7)), -1).reshape(-1, 2)
    grid = grid[(np.abs(grid[:, 1] - 40.0) > 14.0) | (grid[:, 0] < 10.0) | (grid[:, 0] > 110.0)]
    points = np.concatenate([upper, lower[1:-1], grid])
    upper_ids = list(range(9))
    lower_ids = [0] + list(range(9, 16)) + [8]
    return picture, points, upper_ids, lower_ids


def test_a_collapsed_seam_shows_no_pixel_of_its_inside() -> None:
    picture, points, upper, lower = _mouth_picture()
    yy, xx = np.mgrid[0:80, 0:120]
    at_x = np.interp(xx, np.linspace(20.0, 100.0, 9), np.sin(np.pi * np.linspace(0.0, 1.0, 9)))
    mesh = pw.triangulate(points, [(upper, lower)])
    assert mesh.strip.sum() >= 2 * (len(upper) - 2)  # the inside is a strip of rungs
    seam = (points[upper] + points[lower]) / 2
    target = points.copy()
    target[upper], target[lower] = seam, seam
    moved = mesh.extend(target)
    assert not pw.folded(mesh, moved).any()  # nothing turns over: the map is one to one
    out = pw.warp(picture, mesh, moved)
    assert (picture == 250).all(axis=2).sum() > 300
    assert (out.min(axis=2) > 230).sum() == 0
    # where the lips meet, not a trace of the teeth: lip red straight through the seam
    band = np.abs(yy - 40.0 - 4.0 * at_x) <= 4.0
    band[:, :30] = band[:, 91:] = False
    assert (out[band] == (170, 40, 50)).all()


def test_an_unmoved_mesh_returns_the_picture_unchanged() -> None:
    picture, points, upper, lower = _mouth_picture()
    mesh = pw.triangulate(points, [(upper, lower)])
    np.testing.assert_array_equal(pw.warp(picture, mesh, mesh.points), picture)


def test_a_triangle_turned_over_is_reported() -> None:
    _, points, upper, lower = _mouth_picture()
    mesh = pw.triangulate(points, [(upper, lower)])
    target = mesh.points.copy()
    target[4, 1] += 30.0  # the upper lip's middle pushed far through the lower lip
    assert pw.folded(mesh, target).any()
    squeezed = mesh.points.copy()
    squeezed[4, 1] += 3.0  # into the opening, but not past the lower lip: strips only shrink
    assert not pw.folded(mesh, squeezed).any()


def test_seams_must_share_their_ends() -> None:
    _, points, upper, lower = _mouth_picture()
    with pytest.raises(pw.MeshError, match="sharing their ends"):
        pw.triangulate(points, [(upper, lower[:-1] + [3])])


def test_delaunay_keeps_a_thin_seam_by_halving_it() -> None:
    """Lips nearly touching: Delaunay cuts across the seam's long segments until they are
    halved; the added points are means of their parents, on both lines alike."""
    xs = np.linspace(0.0, 60.0, 4)
    upper = np.stack([xs, 10.0 - 0.6 * np.sin(np.pi * xs / 60.0)], 1)
    lower = np.stack([xs, 10.0 + 0.6 * np.sin(np.pi * xs / 60.0)], 1)
    frame = np.array([[-5.0, -5.0], [65.0, -5.0], [-5.0, 25.0], [65.0, 25.0], [30.0, 0.0], [30.0, 20.0]])
    points = np.concatenate([upper, lower[1:-1], frame])
    mesh = pw.triangulate(points, [([0, 1, 2, 3], [0, 4, 5, 3])])
    assert len(mesh.parents) > 0
    new_upper, new_lower = mesh.seams[0]
    assert len(new_upper) == len(new_lower) > 4
    np.testing.assert_allclose(mesh.extend(points), mesh.points)
