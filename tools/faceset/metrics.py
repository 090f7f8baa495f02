"""What the face-set evaluation measures on one rendered frame, each part testable on its own.

- ``Placement`` / ``own_pixel_share``: where each output pixel is read from (the renderer's
  ``source_maps``), carried back into the reference picture through the framing, and whether that
  point lies inside the picture: the share of the frame that is the photo's own pixels, not an
  extended or padded border. ``photo_has_room`` says whether the photo could fill the frame at all.
- ``lip_gap``: MediaPipe's inner-lip gap along the face's own vertical axis, in face heights;
  ``CLOSED_GAP`` separates closed lips from parted ones.
- ``DlibFaces``: dlib's HOG detector, 68-point landmarks and ResNet face descriptor (the weights of
  the ``face-recognition-models`` package): identity distance and an independent lip gap.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatars import face as fm
from avatars.face import FaceMeasurement
from renderer.framing import MAX_ZOOM
from renderer.render import Renderer

# A closed mouth against parted lips, in face heights (MediaPipe's forehead top to chin). On the
# photos of the face set MediaPipe reads every closed mouth at |gap| <= 0.005 and every visibly
# parted one (a slight talking gap, a smile showing teeth) at >= 0.029: 0.015 is three times the
# largest closed reading and about half the smallest parted one.
CLOSED_GAP = 0.015
# dlib's 68 points, the same split on the same photos (face height here: nose bridge top to chin):
# closed <= 0.015, parted >= 0.034.
DLIB_CLOSED_GAP = 0.025
# The head that must stay in the frame: the face oval's box grown by these shares of the face
# height (hair above, ears beside, a little below the chin).
_HEAD_ABOVE, _HEAD_SIDE, _HEAD_BELOW = 0.3, 0.15, 0.1
# dlib's detector box against the face oval's, in shares of the oval box (median over the set's
# photos where both find the face: left, top, right, bottom)
_DLIB_BOX = (-0.03, 0.05, 1.02, 0.94)
CROP_FACE_HEIGHTS = 2.5  # side of the square MediaPipe reads around a face, in face heights
NEAR = 0.3  # face heights: a detection this near the expected face centre is that face
_FIT_TOLERANCE_PX = 0.5
_MIN_INLIERS = 0.6  # share of the landmarks the resting state leaves in place


@dataclass(frozen=True)
class Placement:
    """Where the reference picture sits in the output frame: frame = reference * scale + offset."""

    scale: tuple[float, float]
    offset: tuple[float, float]
    reference_size: tuple[int, int]  # (width, height)
    frame_size: tuple[int, int]
    # px the warp's source reaches past the frame's left, top, right and bottom edges
    margins: tuple[int, int, int, int] = (0, 0, 0, 0)

    @classmethod
    def of(cls, renderer: Renderer) -> Placement:
        """Read from the renderer's public face: its resting mesh against the character's landmarks,
        whatever framing placed them. Points the resting state moves (a relaxed mouth) are left out
        of the fit; ValueError when most landmarks are not a per-axis scale and shift away."""
        rest = renderer.vertex_positions(renderer.rest_motion())[: fm.NUM_LANDMARKS].astype(np.float64)
        marks = renderer.character.landmarks[:, :2].astype(np.float64)
        design = np.stack([marks, np.ones_like(marks)], axis=-1)  # (478, 2 axes, 2)
        keep = np.ones(len(marks), bool)
        for _ in range(4):  # refit on the points the last fit explains best
            fits = [np.linalg.lstsq(design[keep, k], rest[keep, k], rcond=None)[0] for k in (0, 1)]
            residual = np.abs(np.stack([design[:, k] @ fits[k] - rest[:, k] for k in (0, 1)], 1)).max(1)
            keep = residual <= max(_FIT_TOLERANCE_PX, float(np.quantile(residual, _MIN_INLIERS)))
        share = float((residual <= _FIT_TOLERANCE_PX).mean())
        if share < _MIN_INLIERS:
            raise ValueError(f"the framing is not a scale and shift of the reference: only {share:.0%} "
                             f"of the landmarks fit within {_FIT_TOLERANCE_PX} px")  # fmt: skip
        (sx, ox), (sy, oy) = (tuple(float(v) for v in f) for f in fits)
        return cls(scale=(sx, sy), offset=(ox, oy), reference_size=renderer.character.size,
                   frame_size=renderer.size, margins=renderer.margins)  # fmt: skip

    def own_mask(self, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
        """(H, W) bool: output pixels read from the reference picture as the frame shows it. The
        maps hold frame positions (``Renderer.source_maps``); the warp's source is the frame and
        ``margins`` px past its edges (where the picture goes on); a position past that reads the
        source's edge again (replicated), a stretched edge, so it is no more the photo's own
        pixel than one past the picture."""
        fw, fh = self.frame_size
        width, height = self.reference_size
        x = (map_x - self.offset[0]) / self.scale[0]
        y = (map_y - self.offset[1]) / self.scale[1]
        # a pixel covers [i - 0.5, i + 0.5]: anything beyond reads padding
        left, top, right, bottom = self.margins
        in_source = ((map_x >= -0.5 - left) & (map_x <= fw - 0.5 + right)
                     & (map_y >= -0.5 - top) & (map_y <= fh - 0.5 + bottom))  # fmt: skip
        return in_source & (x >= -0.5) & (x <= width - 0.5) & (y >= -0.5) & (y <= height - 0.5)


def own_pixel_share(placement: Placement, map_x: np.ndarray, map_y: np.ndarray) -> float:
    """Share of the output frame that shows the photo's own pixels (0..1)."""
    return float(placement.own_mask(map_x, map_y).mean())


def photo_has_room(picture: tuple[int, int], face_box: tuple[float, float, float, float],
                   face_height: float, frame: tuple[int, int]) -> bool:  # fmt: skip
    """Whether the whole frame can be the photo's own pixels: a window of the frame's aspect ratio
    inside the picture holds the head (as far as the picture holds it: a headshot that cuts the
    hair still has room) and is magnified at most MAX_ZOOM times. picture and frame: (width,
    height); face_box: the face oval's (x0, y0, x1, y1) in picture pixels."""
    aspect = frame[0] / frame[1]
    x0, y0, x1, y1 = face_box
    head_w = min(x1 + _HEAD_SIDE * face_height, picture[0]) - max(x0 - _HEAD_SIDE * face_height, 0.0)
    head_h = min(y1 + _HEAD_BELOW * face_height, picture[1]) - max(y0 - _HEAD_ABOVE * face_height, 0.0)
    needed = max(head_h, head_w / aspect, frame[1] / MAX_ZOOM)  # window height, picture pixels
    return needed <= min(picture[1], picture[0] / aspect)


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels


def oval_box(landmarks: np.ndarray) -> Box:
    """The face oval's bounding box from 478 landmarks (MediaPipe's, or the renderer's posed mesh)."""
    oval = np.asarray(landmarks)[list(fm.FACE_OVAL), :2]
    x0, y0 = oval.min(axis=0)
    x1, y1 = oval.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def face_box(face: FaceMeasurement) -> Box:
    """The face oval's bounding box in the measured image's pixels."""
    return oval_box(face.landmarks)


def nearest_face(faces: list[FaceMeasurement], box: Box) -> FaceMeasurement | None:
    """The face whose oval centre lies nearest the centre of ``box`` (where the avatar's face is),
    if within NEAR of its height: in a group photo the frame may hold other people's faces."""
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    best, best_d = None, NEAR * (box[3] - box[1])
    for face in faces:
        x0, y0, x1, y1 = face_box(face)
        d = float(np.hypot((x0 + x1) / 2 - centre[0], (y0 + y1) / 2 - centre[1]))
        if d <= best_d:
            best, best_d = face, d
    return best


def measure_face(measurer: Any, rgb: np.ndarray, box: Box) -> FaceMeasurement | None:
    """MediaPipe on a square crop around where the face should be (``box``, its oval), the face
    nearest that place: its full-frame detector misses faces that fill little of a large frame
    (a 245 px face in a 1280x720 frame: found in 1% of frames, in all of them at 512x512), which
    says nothing of the face itself. Landmarks in crop pixels (lip_gap is a ratio)."""
    height, width = rgb.shape[:2]
    side = CROP_FACE_HEIGHTS * (box[3] - box[1])
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(width, round(cx + side / 2)), min(height, round(cy + side / 2))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    return nearest_face(measurer.measure_all(crop), (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0))


def lip_gap(face: FaceMeasurement) -> float:
    """Inner-lip gap (upper to lower lip middle) along the face's forehead-to-chin axis, in face
    heights: a tilted head reads as an upright one. Negative when the landmarks overlap."""
    marks = face.landmarks[:, :2].astype(np.float64)
    axis = marks[fm.CHIN] - marks[fm.FOREHEAD_TOP]
    height = float(np.linalg.norm(axis))
    gap = marks[fm.LIPS_LOWER_INNER[5]] - marks[fm.LIPS_UPPER_INNER[5]]  # landmarks 14 and 13
    return float(gap @ axis) / (height * height)


def _models_dir() -> Path:
    # the package's own __init__ imports pkg_resources (gone from new setuptools): only its
    # folder is needed, found without importing it
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("face-recognition-models is not installed (pip install -e '.[dev]')")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


class DlibFaces:
    """dlib's frontal face detector, landmarks and face descriptor (one instance per thread)."""

    def __init__(self) -> None:
        import dlib

        models = _models_dir()
        self._detector = dlib.get_frontal_face_detector()
        self._five = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._sixty_eight = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self._net = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def rect(self, box: Box) -> Any:
        """dlib's rectangle for a face whose oval spans ``box``, placed as its detector would."""
        import dlib

        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        left, top, right, bottom = (x0 + _DLIB_BOX[0] * w, y0 + _DLIB_BOX[1] * h,
                                    x0 + _DLIB_BOX[2] * w, y0 + _DLIB_BOX[3] * h)  # fmt: skip
        return dlib.rectangle(round(left), round(top), round(right), round(bottom))

    def detects(self, rgb: np.ndarray, box: Box, upsample: int = 1) -> bool:
        """Whether dlib's own (HOG, frontal) detector finds the face whose oval spans ``box``.
        ``upsample``: image doublings first (it finds faces from about 80 px, 40 px after one)."""
        centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
        for r in self._detector(np.ascontiguousarray(rgb), upsample):
            found = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
            if np.hypot(*(found - centre)) <= NEAR * (box[3] - box[1]):
                return True
        return False

    def descriptor(self, rgb: np.ndarray, rect: Any) -> np.ndarray:
        """(128,) the face descriptor: distances below 0.6 mean the same person (dlib's rule)."""
        shape = self._five(np.ascontiguousarray(rgb), rect)
        return np.asarray(self._net.compute_face_descriptor(np.ascontiguousarray(rgb), shape), np.float64)

    def lip_gap(self, rgb: np.ndarray, rect: Any) -> float:
        """Inner-lip gap from the 68 points (mean of the three middle pairs), in face heights
        (nose bridge top to chin)."""
        shape = self._sixty_eight(np.ascontiguousarray(rgb), rect)
        p = np.array([[q.x, q.y] for q in shape.parts()], np.float64)
        gap = float(np.mean(p[[65, 66, 67], 1] - p[[63, 62, 61], 1]))
        return gap / float(np.linalg.norm(p[8] - p[27]))


def identity_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
