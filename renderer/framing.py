"""Output sizes and how the reference is framed in them.

"512" is a 512×512 square centred on the face (head and shoulders); "720p" is 1280×720 landscape
with the person centred. Where the frame reaches past the picture, a blurred, stretched copy of the
picture fills in behind it.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

SIZES: dict[str, tuple[int, int]] = {"512": (512, 512), "720p": (1280, 720)}
_MAX_SIDE = 4096
# Face height as a fraction of the frame height, and where the face centre sits (from the top).
_FACE_FRACTION = {"square": 0.4, "landscape": 0.34}
_FACE_CENTER_Y = {"square": 0.42, "landscape": 0.4}


class SizeError(ValueError):
    """An output size that cannot be parsed or is out of range."""


def parse_size(size: str | tuple[int, int]) -> tuple[int, int]:
    """'512' | '720p' | 'WxH' | (W, H) → (width, height); both even, 64..4096."""
    if isinstance(size, tuple):
        width, height = size
    else:
        text = str(size).strip().lower()
        if text in SIZES:
            return SIZES[text]
        match = re.fullmatch(r"(\d+)x(\d+)", text)
        if not match:
            raise SizeError(f"size {size!r} not understood; use 512, 720p or WxH such as 640x480")
        width, height = int(match.group(1)), int(match.group(2))
    if not (64 <= width <= _MAX_SIDE and 64 <= height <= _MAX_SIDE):
        raise SizeError(f"size {width}x{height} out of range; each side must be 64..{_MAX_SIDE}")
    if width % 2 or height % 2:
        raise SizeError(f"size {width}x{height}: both sides must be even (video encoders need it)")
    return int(width), int(height)


def framing(
    face_center: np.ndarray, face_height: float, width: int, height: int
) -> tuple[float, np.ndarray]:
    """(scale, offset): output = reference * scale + offset, placing the face for this frame."""
    kind = "landscape" if width > height * 1.2 else "square"
    scale = _FACE_FRACTION[kind] * height / face_height
    offset = np.array([width / 2, _FACE_CENTER_Y[kind] * height]) - scale * np.asarray(face_center)
    return float(scale), offset.astype(np.float64)


def frame_reference(
    reference: np.ndarray, scale: float, offset: np.ndarray, width: int, height: int
) -> np.ndarray:
    """The reference placed in the output frame: (height, width, 3) uint8."""
    matrix = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]], np.float64)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    placed = cv2.warpAffine(reference, matrix, (width, height), flags=interp,
                            borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    inside = cv2.warpAffine(np.full(reference.shape[:2], 255, np.uint8), matrix, (width, height),
                            flags=cv2.INTER_NEAREST, borderValue=0)  # fmt: skip
    if inside.min() == 255:
        return placed
    backdrop = cv2.resize(reference, (width, height), interpolation=cv2.INTER_AREA)
    backdrop = cv2.GaussianBlur(backdrop, (0, 0), sigmaX=max(width, height) / 40)
    alpha = cv2.GaussianBlur(inside, (0, 0), sigmaX=3)[..., None].astype(np.float32) / 255.0
    alpha = np.where(inside[..., None] == 255, np.maximum(alpha, 0.0), alpha)
    mixed = placed.astype(np.float32) * alpha + backdrop.astype(np.float32) * (1.0 - alpha)
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
