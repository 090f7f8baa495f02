"""Colours sampled from the reference, shared by the mouth and eye painters."""

from __future__ import annotations

import cv2
import numpy as np


def median_color(frame: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Median RGB (3,) float64 inside ``poly`` (K, 2) of ``frame`` (H, W, 3); the frame's mean
    colour when the polygon covers no pixel."""
    mask = np.zeros(frame.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    pixels = frame[mask > 0]
    if pixels.shape[0] == 0:
        return np.asarray(cv2.mean(frame)[:3], np.float64)
    return np.median(pixels, axis=0).astype(np.float64)
