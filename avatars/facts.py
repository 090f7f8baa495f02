"""What character creation found in a photo: the face's size and pose, its own expression, and
how far the head may turn from it.

A photo shows one side of a head. Turning back towards the side it hides would need pixels the
photo does not have, and turning further away folds the far cheek behind the nose, which a warp of
one picture shows badly: both ranges are limited (``HeadRange``), the more the further the photo is
turned. The renderer applies the limits; the character reports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from avatars.motion import MAX_HEAD_ANGLE_DEG, index

# Plain names for the parts of a photographed expression a user cares about, each the mean of
# some ARKit blendshapes, reported when at least _EXPRESSION_SHOWN.
_EXPRESSIONS: dict[str, tuple[str, ...]] = {
    "mouth open": ("jawOpen",),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "frown": ("mouthFrownLeft", "mouthFrownRight"),
    "brows raised": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "brows furrowed": ("browDownLeft", "browDownRight"),
    "eyes squinted": ("eyeSquintLeft", "eyeSquintRight"),
    "eyes closing": ("eyeBlinkLeft", "eyeBlinkRight"),
    "eyes wide": ("eyeWideLeft", "eyeWideRight"),
    "lips puckered": ("mouthPucker",),
}
_EXPRESSION_SHOWN = 0.25
# How the warnings ``PhotoFacts.warnings`` words begin: stored ones are recognised by them
_SEVERAL_FACES, _POSED_HEAD = "faces found; using the largest", "the head in the photo is "
# the pose warning as releases before 2026-12-06 worded it, recognised so it is worded again
_OLD_TURNED_HEAD = "the head is turned "
_OWN_WARNING = re.compile(rf"\d+ {_SEVERAL_FACES}|{_POSED_HEAD}|{_OLD_TURNED_HEAD}")
# Head turn from the photo's pose, degrees. A frontal photo turns 14° either way: looked at on the
# face set's turn strips (yaw -18..18 in steps), the far outline stays whole to about 12° on every
# photo and from 14-18° cuts into steps on most (children, rihanna_tight, the astronaut); the
# world model's own turns stay within 7° in 98% of frames, so everyday motion passes untouched.
# Past a frontal pose, each degree the photo is turned takes some range away on both sides:
# turning back reveals what the photo hides, turning further folds the far cheek behind the nose.
# tom_hanks (18°) cut at 6° back and einstein_tongue (14°) streaked at 6° back, while
# obama_talking (14°) held 18° both ways: the rates keep everyday ±5° for a 12° photo, 4° for
# the 18° ones.
_FREE_YAW, _FREE_PITCH = 14.0, MAX_HEAD_ANGLE_DEG - 5.0  # pitch: the strips (±20°) stay whole
_REVEAL_PER_DEGREE, _AWAY_PER_DEGREE = 0.9, 0.8
_MIN_RANGE = 4.0
# MediaPipe reads a frontal photo within a few degrees of yaw, and of pitch within ten (the
# camera a little above or below the eyes, a slight bow): no limit there
_FRONTAL_YAW, _FRONTAL_PITCH = 5.0, 10.0
# the head range is worth a warning once it is this much narrower than a frontal photo's on a
# side (the astronaut's 11° pitch took 1° off: no warning; a 14° yaw takes 7-8° off each side)
_NOTICEABLE_LIMIT = 3.0
MAX_YAW, MAX_PITCH = 35.0, 20.0  # beyond, animation is not expected to hold up


@dataclass(frozen=True)
class HeadRange:
    """Relative head angles (degrees) the renderer allows: (least, most) for each."""

    yaw: tuple[float, float]
    pitch: tuple[float, float]

    @classmethod
    def for_pose(cls, yaw: float, pitch: float) -> HeadRange:
        """Free both ways for a frontal photo; less both ways the more the photo is turned
        (yaw > 0: the nose points to the image right, so turning back, yaw < 0, reveals what the
        photo hides, and turning on, yaw > 0, hides the far cheek behind the nose)."""

        def limits(angle: float, free: float, frontal: float) -> tuple[float, float]:
            turned = max(abs(angle) - frontal, 0.0)
            reveal = max(_MIN_RANGE, free - _REVEAL_PER_DEGREE * turned)
            away = max(_MIN_RANGE, free - _AWAY_PER_DEGREE * turned)
            return (-reveal, away) if angle > 0 else (-away, reveal)

        return cls(yaw=limits(yaw, _FREE_YAW, _FRONTAL_YAW),
                   pitch=limits(pitch, _FREE_PITCH, _FRONTAL_PITCH))  # fmt: skip

    def narrowed(self) -> float:
        """Degrees by which the range's narrowest side falls short of a frontal photo's."""
        return max(_FREE_YAW - min(-self.yaw[0], self.yaw[1]),
                   _FREE_PITCH - min(-self.pitch[0], self.pitch[1]))  # fmt: skip

    def clamp(self, yaw: float, pitch: float) -> tuple[float, float]:
        """(yaw, pitch) eased into the range: unchanged well inside it, never past it."""
        return _ease(yaw, *self.yaw), _ease(pitch, *self.pitch)


def _ease(value: float, low: float, high: float) -> float:
    """``value`` unchanged within 70% of a limit, then easing (tanh) so it never passes it."""
    for limit, sign in ((high, 1.0), (-low, -1.0)):
        v = sign * value
        knee = 0.7 * limit
        if v > knee:
            room = limit - knee
            return sign * (knee + room * float(np.tanh((v - knee) / max(room, 1e-6))))
    return value


@dataclass(frozen=True)
class PhotoFacts:
    """Measured on the uploaded photo (sizes in its own pixels)."""

    photo_size: tuple[int, int]  # width, height of the upload
    face_height_px: float  # forehead top to chin
    face_box: tuple[int, int, int, int]  # x, y, width, height of the landmarks' box
    yaw: float
    pitch: float
    roll: float
    faces_found: int
    expression: dict[str, float]  # plain name → strength 0..1, only what shows
    head_range: HeadRange

    @classmethod
    def measure(cls, *, photo_size: tuple[int, int], face_height: float,
                box: tuple[int, int, int, int], yaw: float, pitch: float, roll: float,
                faces_found: int, blendshapes: np.ndarray) -> PhotoFacts:  # fmt: skip
        shown = {}
        for name, channels in _EXPRESSIONS.items():
            strength = float(np.mean([blendshapes[index(c)] for c in channels]))
            if strength >= _EXPRESSION_SHOWN:
                shown[name] = round(strength, 2)
        yaw, pitch = round(float(yaw), 1), round(float(pitch), 1)  # as stored: the range follows
        return cls(
            photo_size=(int(photo_size[0]), int(photo_size[1])),
            face_height_px=round(float(face_height), 1),
            face_box=tuple(int(v) for v in box),  # type: ignore[arg-type]
            yaw=yaw, pitch=pitch, roll=round(float(roll), 1),
            faces_found=int(faces_found),
            expression=shown,
            head_range=HeadRange.for_pose(yaw, pitch),
        )

    def warnings(self) -> list[str]:
        """What a user should know about this photo, in plain words."""
        out = []
        if self.faces_found > 1:
            out.append(f"{self.faces_found} {_SEVERAL_FACES} ({self.face_height_px:.0f} px tall)")
        if self.head_range.narrowed() >= _NOTICEABLE_LIMIT:
            lo, hi = self.head_range.yaw
            plo, phi = self.head_range.pitch
            out.append(
                f"{_POSED_HEAD}{self._pose_words()}; its turns are limited to what the photo can "
                f"show: yaw {lo:+.0f}°..{hi:+.0f}°, pitch {plo:+.0f}°..{phi:+.0f}°"
            )
        beyond = []
        if abs(self.yaw) > MAX_YAW:
            beyond.append(f"turned more than {MAX_YAW:.0f}° sideways")
        if abs(self.pitch) > MAX_PITCH:
            beyond.append(f"tipped more than {MAX_PITCH:.0f}° up or down")
        if beyond:
            out.append(f"{_POSED_HEAD}{' and '.join(beyond)}; a more frontal photo will animate better")
        return out

    def _pose_words(self) -> str:
        """How the head is posed, in words (yaw > 0: the nose to the image right; pitch > 0:
        the nose down). Asked only of a pose past the frontal one: its range is narrowed."""
        words = []
        if abs(self.yaw) >= _FRONTAL_YAW:
            side = "right" if self.yaw > 0 else "left"
            words.append(f"turned {abs(self.yaw):.0f}° towards the image {side}")
        if abs(self.pitch) >= _FRONTAL_PITCH:
            words.append(f"tipped {abs(self.pitch):.0f}° {'down' if self.pitch > 0 else 'up'}")
        return " and ".join(words)

    def current_warnings(self, stored: Iterable[str]) -> list[str]:
        """Warnings stored with a character, with the ones these facts word (faces found, the
        head's range) worded again as this release does: a character stored when a frontal photo
        turned ±30° would otherwise go on saying so. The others (framing, resting state) stay."""
        return self.warnings() + [w for w in stored if not _OWN_WARNING.match(w)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["head_range"] = {"yaw": list(self.head_range.yaw),
                              "pitch": list(self.head_range.pitch)}  # fmt: skip
        data["photo_size"], data["face_box"] = list(self.photo_size), list(self.face_box)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhotoFacts:
        """The facts ``to_dict`` wrote. The head range is worked out again from the pose: it is
        this release's policy, not a measurement (a character stored when a frontal photo turned
        ±30° turns as far as this release lets it)."""
        yaw, pitch = float(data["yaw"]), float(data["pitch"])
        return cls(
            photo_size=(int(data["photo_size"][0]), int(data["photo_size"][1])),
            face_height_px=float(data["face_height_px"]),
            face_box=tuple(int(v) for v in data["face_box"]),  # type: ignore[arg-type]
            yaw=yaw, pitch=pitch, roll=float(data["roll"]),
            faces_found=int(data["faces_found"]),
            expression={str(k): float(v) for k, v in data["expression"].items()},
            head_range=HeadRange.for_pose(yaw, pitch),
        )  # fmt: skip
