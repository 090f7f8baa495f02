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
from avatars.facts import PhotoFacts
from avatars.images import FaceNotFoundError, ImageError, ImageSource, load_image
from avatars.motion import BLENDSHAPES, NUM_BLENDSHAPES
from avatars.relax import relax_photo
from avatars.relaxation import Relaxation
from avatars.rig import Rig, build_rig
from avatars.upright import stand_upright

__all__ = ["STYLE_DIM", "Character", "CharacterFileError", "CharacterOutdatedError",
           "FaceNotFoundError", "ImageError"]  # fmt: skip

log = logging.getLogger(__name__)

# 2: the picture is relaxed at build time (avatars.relax) and the record kept; format 1 characters
# relied on the renderer painting their parted lips shut, which it no longer does
FORMAT_VERSION = 2
# The stored picture keeps the face at most this tall (reference pixels): enough for a tight 720p
# frame without magnifying it, and the renderer frames from whatever the picture holds.
MAX_FACE_HEIGHT = 400
# ... and at most this many pixels: a larger picture (a group, a wide shot) is cropped around the
# face, keeping the picture's own aspect ratio where it can.
MAX_REFERENCE_PIXELS = 4_000_000
_PROPORTIONS = 8
STYLE_DIM = NUM_BLENDSHAPES + _PROPORTIONS


class CharacterFileError(ValueError):
    """A saved character folder is missing a file or holds unreadable data."""


class CharacterOutdatedError(CharacterFileError):
    """A character saved by an earlier release: its reference.png can be built again."""


OUTDATED_FORMATS = (1,)


@dataclass(frozen=True)
class Character:
    reference: np.ndarray  # (H, W, 3) uint8: the cropped reference picture, relaxed
    landmarks: np.ndarray  # (478, 3) in reference pixels
    # (52,) the reference's own blendshapes (tongueOut = 0) as motion applies relative to them:
    # measured on the relaxed picture, 0 for the parts the relaxation changed or kept
    expression: np.ndarray
    transform: np.ndarray  # (4, 4) the reference's facial transformation matrix
    rig: Rig
    relaxation: Relaxation  # what the photo showed, and what was relaxed or kept as resting state
    teeth: np.ndarray | None = None  # (3,) RGB of the teeth the original photo showed, if any
    notes: tuple[str, ...] = ()
    facts: PhotoFacts | None = None  # what was found in the photo (None: stored before facts)

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
            upright = stand_upright(rgb, active)
            rgb, found = upright.picture, upright.found
            face = found.measurement
            crop, landmarks = _crop_reference(rgb, face.landmarks)
            # the measurer reads the relaxed picture again
            relaxed = relax_photo(crop, landmarks, face.blendshape_vector(),
                                  face.transform.astype(np.float32), active)  # fmt: skip
        finally:
            if own:
                active.close()
        facts = PhotoFacts.measure(
            photo_size=(rgb.shape[1], rgb.shape[0]), face_height=face.face_height, box=face.box,
            yaw=face.head_yaw, pitch=face.head_pitch, roll=face.head_roll,
            faces_found=found.faces_found, blendshapes=face.blendshape_vector(),
        )  # fmt: skip
        notes = facts.warnings()
        turned = upright.note()
        if turned is not None:
            notes.append(turned)
        if crop.shape[:2] != rgb.shape[:2]:
            notes.append(f"picture kept as {crop.shape[1]}x{crop.shape[0]} (from "
                         f"{rgb.shape[1]}x{rgb.shape[0]}): the face at most {MAX_FACE_HEIGHT} px "
                         f"tall, at most {MAX_REFERENCE_PIXELS / 1e6:.0f} megapixels")  # fmt: skip
        log.info("character built faces=%d size=%dx%d", found.faces_found, *crop.shape[1::-1])
        return cls(
            reference=relaxed.picture,
            landmarks=relaxed.landmarks,
            expression=relaxed.expression,
            transform=relaxed.transform,
            rig=build_rig(relaxed.landmarks),
            relaxation=relaxed.record,
            teeth=relaxed.teeth,
            notes=tuple(notes),
            facts=facts,
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
                "blendshapes": list(BLENDSHAPES), "relaxation": self.relaxation.to_dict(),
                "teeth": None if self.teeth is None else [round(float(c), 2) for c in self.teeth],
                "facts": self.facts.to_dict() if self.facts is not None else None}  # fmt: skip
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
            if meta.get("format") in OUTDATED_FORMATS:
                raise CharacterOutdatedError(
                    f"{folder}: character format {meta.get('format')} was built before photos "
                    "were relaxed; build it again from its reference.png"
                )
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
            facts = PhotoFacts.from_dict(meta["facts"]) if meta.get("facts") else None
            notes = tuple(meta.get("notes", ()))
            character = cls(
                reference=np.ascontiguousarray(reference),
                landmarks=arrays["landmarks"],
                expression=arrays["expression"],
                transform=arrays["transform"],
                rig=rig,
                relaxation=Relaxation.from_dict(meta["relaxation"]),
                teeth=None if meta.get("teeth") is None else np.asarray(meta["teeth"], np.float64).reshape(3),
                # the photo's own warnings as this release words them (its head range)
                notes=tuple(facts.current_warnings(notes)) if facts is not None else notes,
                facts=facts,
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
    """The picture the character keeps: scaled so the face is at most MAX_FACE_HEIGHT px tall,
    and cropped around the face only to stay within MAX_REFERENCE_PIXELS."""
    import cv2

    height, width = rgb.shape[:2]
    marks = landmarks.astype(np.float64).copy()
    fh = float(np.linalg.norm(marks[fm.FOREHEAD_TOP, :2] - marks[fm.CHIN, :2]))
    scale = min(1.0, MAX_FACE_HEIGHT / fh)
    budget = MAX_REFERENCE_PIXELS / (scale * scale)  # in the picture's own pixels
    x0, y0, x1, y1 = 0, 0, width, height
    if width * height > budget:
        cx, cy = marks[list(fm.FACE_OVAL), :2].mean(axis=0)
        shrink = float(np.sqrt(budget / (width * height)))
        crop_w, crop_h = max(1, int(width * shrink)), max(1, int(height * shrink))
        x0 = int(np.clip(cx - crop_w / 2, 0, width - crop_w))
        y0 = int(np.clip(cy - 0.4 * crop_h, 0, height - crop_h))
        x1, y1 = x0 + crop_w, y0 + crop_h
    crop = rgb[y0:y1, x0:x1]
    marks[:, 0] -= x0
    marks[:, 1] -= y0
    if scale < 1.0:
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        # landmarks follow the resize exactly (pixel centres), not just the nominal scale
        sx, sy = size[0] / crop.shape[1], size[1] / crop.shape[0]
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        marks[:, 0] = (marks[:, 0] + 0.5) * sx - 0.5
        marks[:, 1] = (marks[:, 1] + 0.5) * sy - 0.5
        marks[:, 2] *= (sx + sy) / 2
    return np.ascontiguousarray(crop), marks.astype(np.float32)
