"""Face measurement with MediaPipe's FaceLandmarker: 478 landmarks, 51 blendshapes, head pose.

One measurer serves both the character builder (still photos, IMAGE mode) and capture (video
frames, VIDEO mode, timestamps in ms). Head angles follow one convention everywhere, in degrees, in
MediaPipe's camera frame (x right, y up, z toward the viewer): pitch > 0 tips the nose down (a nod),
yaw > 0 turns the nose to the image right, roll > 0 tilts the head toward the image left shoulder.
"""

from __future__ import annotations

import contextlib
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avatars.motion import BLENDSHAPES

log = logging.getLogger(__name__)

NUM_LANDMARKS = 478
MEASURED_BLENDSHAPES: tuple[str, ...] = tuple(n for n in BLENDSHAPES if n != "tongueOut")

# Landmark groups of the MediaPipe face mesh (subject's left = image right).
LIPS_UPPER_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_LOWER_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_UPPER_INNER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_LOWER_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
# (upper, lower) lid of each eye, the right one (image left) first
EYE_LIDS = ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER))
RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_IRIS = (468, 469, 470, 471, 472)
LEFT_IRIS = (473, 474, 475, 476, 477)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
FOREHEAD_TOP, CHIN = 10, 152
RIGHT_CHEEK_EDGE, LEFT_CHEEK_EDGE = 234, 454
MOUTH_RIGHT_CORNER, MOUTH_LEFT_CORNER = 61, 291


@dataclass(frozen=True)
class FaceMeasurement:
    """One face in one image. Coordinates are pixels of the measured image."""

    landmarks: np.ndarray  # (478, 3): x, y in pixels; z depth in pixels (smaller = nearer)
    blendshapes: dict[str, float]  # the 51 ARKit names MediaPipe measures
    transform: np.ndarray  # (4, 4) facial transformation matrix (camera frame, cm)
    head_pitch: float
    head_yaw: float
    head_roll: float
    box: tuple[int, int, int, int] = field(default=(0, 0, 0, 0))  # x, y, width, height

    @property
    def face_height(self) -> float:
        """Forehead-top to chin distance in pixels."""
        return float(np.linalg.norm(self.landmarks[FOREHEAD_TOP, :2] - self.landmarks[CHIN, :2]))

    def blendshape_vector(self) -> np.ndarray:
        """(52,) float32 in ARKit order; tongueOut (not measured) is 0."""
        return np.array([self.blendshapes.get(n, 0.0) for n in BLENDSHAPES], np.float32)


def angles_from_rotation(rotation: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees from a 3×3 rotation R = Ry(yaw) @ Rx(pitch) @ Rz(roll)."""
    r = np.asarray(rotation, np.float64)[:3, :3]
    pitch = math.asin(float(np.clip(-r[1, 2], -1.0, 1.0)))
    yaw = math.atan2(float(r[0, 2]), float(r[2, 2]))
    roll = math.atan2(float(r[1, 0]), float(r[1, 1]))
    # Rx(+θ) maps +y to +z (the top of the head toward the viewer, nose down): call that a nod.
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def rotation_from_angles(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """(3, 3) rotation R = Ry(yaw) @ Rx(pitch) @ Rz(roll); angles in degrees (camera frame)."""
    p, y, r = (math.radians(a) for a in (pitch, yaw, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def relative_angles(transform: np.ndarray, reference: np.ndarray) -> tuple[float, float, float]:
    """Head angles of ``transform`` relative to ``reference`` (both 4×4 or 3×3): R @ R0ᵀ."""
    rel = np.asarray(transform)[:3, :3] @ np.asarray(reference)[:3, :3].T
    return angles_from_rotation(rel)


class FaceMeasurer:
    """MediaPipe FaceLandmarker in IMAGE mode (``video=False``) or VIDEO mode (``video=True``).

    Not thread-safe; one per thread. Close it (or use it as a context manager) when done.
    """

    def __init__(
        self, *, model_path: str | Path | None = None, video: bool = False, max_faces: int = 4
    ) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from avatars.assets import landmarker_path

        if max_faces < 1:
            raise ValueError(f"max_faces must be at least 1, got {max_faces}")
        path = Path(model_path) if model_path is not None else landmarker_path()
        if not path.is_file():
            raise FileNotFoundError(f"face landmarker model not found: {path}")
        mode = vision.RunningMode.VIDEO if video else vision.RunningMode.IMAGE
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(path)),
            running_mode=mode,
            num_faces=max_faces,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._landmarker: Any = vision.FaceLandmarker.create_from_options(options)
        self._video = video

    def measure_all(self, rgb: np.ndarray, *, timestamp_ms: int | None = None) -> list[FaceMeasurement]:
        """Every face found, largest first. rgb: (H, W, 3) uint8."""
        import mediapipe as mp

        image = np.ascontiguousarray(_check_rgb(rgb))
        mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
        if self._video:
            if timestamp_ms is None:
                raise ValueError("VIDEO mode needs timestamp_ms (increasing, in milliseconds)")
            result = self._landmarker.detect_for_video(mp_image, int(timestamp_ms))
        else:
            result = self._landmarker.detect(mp_image)
        height, width = image.shape[:2]
        faces = [
            _to_measurement(marks, shapes, matrix, width, height)
            for marks, shapes, matrix in zip(
                result.face_landmarks,
                result.face_blendshapes,
                result.facial_transformation_matrixes,
                strict=True,
            )
        ]
        return sorted(faces, key=lambda f: -f.box[2] * f.box[3])

    def measure(self, rgb: np.ndarray, *, timestamp_ms: int | None = None) -> FaceMeasurement | None:
        """The largest face, or None when no face is found."""
        faces = self.measure_all(rgb, timestamp_ms=timestamp_ms)
        return faces[0] if faces else None

    def close(self) -> None:
        if self._landmarker is not None:
            self._landmarker.close()
            self._landmarker = None

    def __enter__(self) -> FaceMeasurer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # At interpreter shutdown MediaPipe's C side may already be gone; nothing left to free.
        with contextlib.suppress(Exception):
            self.close()


def _check_rgb(rgb: np.ndarray) -> np.ndarray:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {shape}")
    if rgb.dtype != np.uint8:
        raise ValueError(f"expected a uint8 RGB image, got dtype {rgb.dtype}")
    return rgb


def _to_measurement(
    marks: Any, shapes: Any, matrix: Any, width: int, height: int
) -> FaceMeasurement:
    points = np.array([[p.x * width, p.y * height, p.z * width] for p in marks], np.float32)
    blend = {c.category_name: float(c.score) for c in shapes if c.category_name != "_neutral"}
    transform = np.asarray(matrix, np.float64).reshape(4, 4)
    pitch, yaw, roll = angles_from_rotation(transform[:3, :3])
    x0, y0 = np.floor(points[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(axis=0)).astype(int)
    return FaceMeasurement(
        landmarks=points,
        blendshapes=blend,
        transform=transform,
        head_pitch=pitch,
        head_yaw=yaw,
        head_roll=roll,
        box=(int(x0), int(y0), int(x1 - x0), int(y1 - y0)),
    )
