"""Eyelids drawn over the eye as it closes.

A warp cannot hide what is beneath a closing lid (it would squeeze the eye into a strip), so the
lid is drawn: from where the upper lid is in the reference down to the closing edge, the skin
between lid and brow is brought down over the eye, and the lash line is drawn along the edge. The
eye beneath stays as it is, so a half-closed eye still shows the lower half of the iris.
"""

from __future__ import annotations

import cv2
import numpy as np

from avatars import face as fm
from avatars.rig import BLINK_WARP
from renderer.sampling import median_color

# lid bands whose skin tone is darker than this share of the skin's under the eyes are shadowed
# (obama_talking 0.32; deep-set eyes, heavy brows and eye make-up on the face set 0.6-0.8)
_SHADOWED = 0.5
# how far below the lower lid's landmarks a closed lid's edge comes, in eye heights: the weaker
# random blink row of the face set rose on 23 of 29 faces (median +0.02, up to +0.08), fell
# 0.01-0.03 on three (rihanna_tight, outdoor_group, tom_hanks)
_BELOW_WATERLINE = 0.25
_EYES = tuple((list(upper), list(lower)) for upper, lower in fm.EYE_LIDS)  # lists: numpy indices


def _gap(points: np.ndarray, upper: list[int], lower: list[int]) -> float:
    return float(np.mean(points[lower[2:-2], 1] - points[upper[2:-2], 1]))


class LidPainter:
    """Covers closing eyes for one framed reference (landmarks in output pixels)."""

    def __init__(self, frame: np.ndarray, landmarks_xy: np.ndarray, face_height: float) -> None:
        self._ref_gaps = [max(_gap(landmarks_xy, u, lo), 1.0) for u, lo in _EYES]
        self._skin = _lid_tones(frame, landmarks_xy, self._ref_gaps)
        self._lash: list[np.ndarray] = []
        self._thickness = max(1.0, 0.006 * face_height)
        for upper, _lower in _EYES:
            lid = landmarks_xy[upper]
            line = np.round(lid).astype(int)
            ys = np.clip(line[:, 1], 0, frame.shape[0] - 1)
            xs = np.clip(line[:, 0], 0, frame.shape[1] - 1)
            samples = frame[ys, xs].astype(np.float32)
            darkest = samples[np.argsort(samples.sum(axis=1))[: max(2, len(samples) // 2)]]
            self._lash.append(darkest.mean(axis=0) * 0.8)

    def paint(self, frame: np.ndarray, points: np.ndarray, *, closures: tuple[float, float]) -> None:
        """Draw the lids into ``frame`` for posed landmarks ``points`` (478, 2).

        ``closures``: (right eye, left eye) in 0..1, how far each upper lid has come down from
        where it is in the reference towards the lower lid.
        """
        for i, ((upper, lower), closed) in enumerate(zip(_EYES, closures, strict=True)):
            if closed <= 0.0:
                continue
            # The warp has brought the lid down BLINK_WARP * closed of the way already; the lid
            # drawn covers from there (and the lashes above it) down to the closing edge.
            warped = BLINK_WARP * closed
            gap = self._ref_gaps[i]
            lid_top = points[upper] - [0.0, (0.4 + warped) * gap]
            remaining = (closed - warped) / max(1.0 - warped, 1e-3)
            edge = points[upper] + remaining * (points[lower] - points[upper])
            # MediaPipe's lower lid runs along the waterline; a closed lid comes down onto the
            # lashes below it. Stopping at the landmarks left a strip of lower lid and a dark
            # line over it that read as a narrowed eye (a full blink read 0.5-0.6, not closed)
            edge = edge + [0.0, _BELOW_WATERLINE * gap * closed]
            # the eye itself (from the lid's own crease down) is covered opaquely
            crease = points[upper] - [0.0, 0.15 * gap]
            alpha = float(np.clip(closed / 0.1, 0.0, 1.0))
            self._cover(frame, lid_top, crease, edge, i, alpha)

    def _cover(
        self,
        frame: np.ndarray,
        top: np.ndarray,
        crease: np.ndarray,
        edge: np.ndarray,
        eye: int,
        alpha: float,
    ) -> None:
        """Lid skin from ``top`` down to ``edge`` (each corner → corner), opaque below ``crease``,
        the lash line along ``edge``."""
        height, width = frame.shape[:2]
        gap = self._ref_gaps[eye]
        poly = np.concatenate([top, edge[-2:0:-1]]).astype(np.float32)
        pad = int(np.ceil(self._thickness + 0.4 * gap)) + 2
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - pad, 0)
        x1 = min(int(np.ceil(poly[:, 0].max())) + pad + 1, width)
        y1 = min(int(np.ceil(poly[:, 1].max())) + pad + 1, height)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        origin = np.array([x0, y0], np.float32)

        def filled(outline: np.ndarray, sigma: float) -> np.ndarray:
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            points = np.round((outline - origin) * 16).astype(np.int32)
            cv2.fillPoly(mask, [points], 255, cv2.LINE_AA, 4)
            return cv2.GaussianBlur(mask, (0, 0), sigmaX=sigma).astype(np.float32) / 255.0

        # The top melts into the skin above; below the crease the lid hides the eye entirely.
        soft = filled(poly, max(self._thickness, 0.25 * gap))
        hard = filled(np.concatenate([crease, edge[-2:0:-1]]), 0.7)
        cover = np.maximum(soft, hard)[..., None] * alpha
        region = frame[y0:y1, x0:x1].astype(np.float32)
        # The lid's skin: the tone of the skin between lid and brow (its brighter half, so
        # lashes, brows and glasses rims do not darken it) with that skin's fine texture, faint.
        shift = round(1.7 * gap)
        above = frame[max(y0 - shift, 0) : y1 - shift, x0:x1].astype(np.float32)
        skin = np.broadcast_to(self._skin[eye], region.shape).astype(np.float32)
        if above.shape[0] == region.shape[0]:
            detail = above - cv2.GaussianBlur(above, (0, 0), sigmaX=2.0)
            skin = skin + np.clip(detail, -12.0, 12.0) * 0.5
        # a convex lid: lit on its upper curve, turning into shadow towards the lash line
        rows = (np.arange(y0, y1, dtype=np.float32) - float(top[:, 1].mean())) / max(
            float(edge[:, 1].mean() - top[:, 1].mean()), 1.0
        )
        shade = (1.0 - 0.14 * np.clip(rows, 0.0, 1.0) ** 2)[:, None, None]
        region += (skin * shade - region) * cover
        # the fold where the lid meets the skin above it: a faint soft shadow
        fold = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.polylines(fold, [np.round((crease - origin) * 16).astype(np.int32)], False, 255,
                      max(1, round(self._thickness)), cv2.LINE_AA, 4)  # fmt: skip
        fold_w = cv2.GaussianBlur(fold, (0, 0), max(1.0, self._thickness)).astype(np.float32)
        region *= 1.0 - 0.18 * (fold_w[..., None] / 255.0) * alpha
        lash = np.zeros((y1 - y0, x1 - x0), np.uint8)
        line = edge + [0.0, 0.3 * self._thickness]  # over the soft lower edge of the cover
        cv2.polylines(lash, [np.round((line - origin) * 16).astype(np.int32)], False, 255,
                      max(1, round(1.25 * self._thickness)), cv2.LINE_AA, 4)  # fmt: skip
        weight = cv2.GaussianBlur(lash, (0, 0), 0.6).astype(np.float32)[..., None]
        region += (self._lash[eye] - region) * weight * (alpha * 0.85 / 255.0)
        frame[y0:y1, x0:x1] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def _lid_tones(frame: np.ndarray, landmarks_xy: np.ndarray, gaps: list[float]) -> list[np.ndarray]:
    """Per eye, the tone a closed lid is drawn in: the skin between lid and brow. Where the brows
    sit low on the lids (obama_talking, looking up under heavy brows) that band is brow and
    shadow, and a lid in its tone closed the eye with a dark brown patch: then the skin under the
    eyes lends its tone too (both eyes alike, so the two lids match)."""
    above, below = [], []
    for (upper, lower), gap in zip(_EYES, gaps, strict=True):
        lid, under = landmarks_xy[upper], landmarks_xy[lower]
        above.append(np.concatenate([lid, (lid - [0.0, 1.2 * gap])[::-1]]))
        below.append(np.concatenate([under + [0.0, 0.2 * gap], (under + [0.0, 1.2 * gap])[::-1]]))
    tones = [_bright_median_in(frame, band) for band in above]
    under_eyes = sum(_bright_median_in(frame, band).sum() for band in below)
    if sum(tone.sum() for tone in tones) >= _SHADOWED * under_eyes:
        return tones
    return [_bright_median_in(frame, a, b) for a, b in zip(above, below, strict=True)]


def _bright_median_in(frame: np.ndarray, poly: np.ndarray, *more: np.ndarray) -> np.ndarray:
    """Median colour of the brighter half of the pixels inside ``poly`` and ``more`` polygons
    (skin, not hair)."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in (poly, *more)], 1)
    pixels = frame[mask > 0].astype(np.float32)
    if pixels.shape[0] < 4:
        return median_color(frame, poly).astype(np.float32)
    # by rank, not ">= the median": where more than half is one dark colour (a brow sitting low
    # on the lid), every pixel ties with the median and the "brighter half" was all of them
    bright = pixels[np.argsort(pixels.sum(axis=1), kind="stable")[pixels.shape[0] // 2 :]]
    return np.median(bright, axis=0).astype(np.float32)
