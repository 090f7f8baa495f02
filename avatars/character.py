"""The character: a reference image turned once into a rig the renderer animates.

``Character.from_image`` runs the FaceLandmarker once, measures the reference's own expression and
head pose, crops the picture around the person (head, shoulders and enough room for a landscape
frame), and builds the rig. ``save``/``load`` keep it in a folder; loading needs no MediaPipe.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avatars import face as fm
from avatars.face import FaceMeasurer
from avatars.images import FaceNotFoundError, ImageError, ImageSource, find_face, load_image
from avatars.motion import BLENDSHAPES, NUM_BLENDSHAPES
from avatars.rig import Rig, build_rig

__all__ = ["STYLE_DIM", "Character", "CharacterFileError", "FaceNotFoundError", "ImageError"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
MAX_FACE_HEIGHT = 300  # reference pixels; enough for a 720p frame without upscaling the face
# The stored crop around the face centre, in face heights: left/right, up, down.
_CROP_SIDE, _CROP_UP, _CROP_DOWN = 2.9, 1.5, 2.1
_PROPORTIONS = 8
STYLE_DIM = NUM_BLENDSHAPES + _PROPORTIONS


class CharacterFileError(ValueError):
    """A saved character folder is missing a file or holds unreadable data."""


@dataclass(frozen=True)
class Character:
    reference: np.ndarray  # (H, W, 3) uint8: the cropped reference picture
    landmarks: np.ndarray  # (478, 3) in reference pixels
    expression: np.ndarray  # (52,) the reference's own blendshapes (tongueOut = 0)
    transform: np.ndarray  # (4, 4) the reference's facial transformation matrix
    rig: Rig
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the reference picture."""
        return int(self.reference.shape[1]), int(self.reference.shape[0])

    @property
    def face_height(self) -> float:
        return self.rig.face_height

    @property
    def face_center(self) -> np.ndarray:
        """(2,) centre of the face oval in reference pixels."""
        return self.landmarks[list(fm.FACE_OVAL), :2].mean(axis=0)

    @classmethod
    def from_image(cls, image: ImageSource, *, measurer: FaceMeasurer | None = None) -> Character:
        rgb = load_image(image)
        own = measurer is None
        active = measurer or FaceMeasurer()
        try:
            found = find_face(rgb, active)
        finally:
            if own:
                active.close()
        notes: list[str] = []
        if found.faces_found > 1:
            notes.append(f"{found.faces_found} faces found; using the largest")
        face = found.measurement
        crop, landmarks = _crop_reference(rgb, face.landmarks)
        if crop.shape[:2] != rgb.shape[:2]:
            notes.append(f"picture cropped to the person: {crop.shape[1]}x{crop.shape[0]}")
        log.info("character built faces=%d size=%dx%d", found.faces_found, *crop.shape[1::-1])
        return cls(
            reference=crop,
            landmarks=landmarks,
            expression=face.blendshape_vector(),
            transform=face.transform.astype(np.float32),
            rig=build_rig(landmarks),
            notes=tuple(notes),
        )

    def style_vector(self) -> np.ndarray:
        """(STYLE_DIM,) float32: neutral expression blendshapes, then face proportions."""
        p = self.landmarks[:, :2].astype(np.float64)
        fh = self.face_height

        def dist(a: int, b: int) -> float:
            return float(np.linalg.norm(p[a] - p[b])) / fh

        def opening(upper: tuple[int, ...], lower: tuple[int, ...]) -> float:
            width = float(np.linalg.norm(p[upper[0]] - p[upper[-1]]))
            return float(np.mean(p[list(lower), 1] - p[list(upper), 1])) / max(width, 1e-6)

        proportions = [
            dist(fm.RIGHT_CHEEK_EDGE, fm.LEFT_CHEEK_EDGE),  # face width
            dist(33, 263),  # outer eye corners
            dist(fm.MOUTH_RIGHT_CORNER, fm.MOUTH_LEFT_CORNER),  # mouth width
            dist(168, 1),  # nose bridge to tip
            dist(14, fm.CHIN),  # lower lip to chin
            dist(105, 159),  # brow to upper lid
            opening(fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER),
            opening(fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER),
        ]
        return np.concatenate([self.expression, np.array(proportions)]).astype(np.float32)

    def save(self, folder: str | Path) -> None:
        from PIL import Image

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(self.reference).save(folder / "reference.png")
        arrays: dict[str, Any] = {"landmarks": self.landmarks, "expression": self.expression,
                                  "transform": self.transform, **self.rig.arrays()}  # fmt: skip
        np.savez(folder / "rig.npz", **arrays)
        meta = {"format": FORMAT_VERSION, "notes": list(self.notes), "size": list(self.size),
                "blendshapes": list(BLENDSHAPES)}  # fmt: skip
        (folder / "character.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path) -> Character:
        """A saved character; raises CharacterFileError naming the missing or bad file."""
        from PIL import Image

        folder = Path(folder)
        for name in ("character.json", "reference.png", "rig.npz"):
            if not (folder / name).is_file():
                raise CharacterFileError(f"{folder}: {name} is missing")
        reading = "character.json"  # named in the error: what is damaged
        try:
            meta = json.loads((folder / "character.json").read_text())
            if meta.get("format") != FORMAT_VERSION:
                raise CharacterFileError(
                    f"{folder}: character format {meta.get('format')}, expected {FORMAT_VERSION}"
                )
            reading = "reference.png"
            with Image.open(folder / "reference.png") as img:
                reference = np.asarray(img.convert("RGB"), dtype=np.uint8)
            reading = "rig.npz"
            with np.load(folder / "rig.npz") as data:
                arrays = {k: data[k] for k in data.files}
            rig = Rig.from_arrays(arrays)
            character = cls(
                reference=np.ascontiguousarray(reference),
                landmarks=arrays["landmarks"],
                expression=arrays["expression"],
                transform=arrays["transform"],
                rig=rig,
                notes=tuple(meta.get("notes", ())),
            )
        except CharacterFileError:
            raise
        except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
            reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise CharacterFileError(f"{folder}: {reading} is unreadable ({reason})") from None
        if character.landmarks.shape != (fm.NUM_LANDMARKS, 3) or character.size != tuple(
            meta.get("size", ())
        ):
            raise CharacterFileError(f"{folder}: character files do not match each other")
        return character


def _crop_reference(rgb: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crop around the person and scale so the face is at most MAX_FACE_HEIGHT px tall."""
    import cv2

    height, width = rgb.shape[:2]
    marks = landmarks.astype(np.float64).copy()
    fh = float(np.linalg.norm(marks[fm.FOREHEAD_TOP, :2] - marks[fm.CHIN, :2]))
    cx, cy = marks[list(fm.FACE_OVAL), :2].mean(axis=0)
    x0 = max(0, int(cx - _CROP_SIDE * fh))
    x1 = min(width, int(np.ceil(cx + _CROP_SIDE * fh)))
    y0 = max(0, int(cy - _CROP_UP * fh))
    y1 = min(height, int(np.ceil(cy + _CROP_DOWN * fh)))
    crop = rgb[y0:y1, x0:x1]
    marks[:, 0] -= x0
    marks[:, 1] -= y0
    scale = min(1.0, MAX_FACE_HEIGHT / fh)
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        marks *= scale
    return np.ascontiguousarray(crop), marks.astype(np.float32)
