"""Motion frame + character → RGB frame.

Blendshapes are absolute (ARKit values); the rig applies the difference between the commanded
values and the reference's own measured expression, so the reference is reproduced exactly by
``rest_motion()`` and a smiling photo can still close its mouth. Head angles, head translation and
body channels are relative to the reference as photographed (0 = as in the photo).
"""

from __future__ import annotations

import numpy as np

from avatars import face as fm
from avatars.character import Character
from avatars.motion import (
    BLENDSHAPE_SLICE,
    BODY_SLICE,
    HEAD_SLICE,
    NUM_BLENDSHAPES,
    NUM_CHANNELS,
    clip,
    index,
)
from renderer.eyes import LidPainter
from renderer.framing import frame_reference, framing, parse_size
from renderer.mouth import MouthPainter
from renderer.warp import DenseWarp

# MediaPipe's camera frame (x right, y up, z to the viewer) → image frame (x right, y down, z away).
_FLIP = np.diag([1.0, -1.0, -1.0])
_TONGUE_OUT = index("tongueOut")

def _response(gain: float, gamma: float) -> tuple[float, float]:
    return gain, gamma


# Commanded value c → rig amplitude gain * c**gamma, tuned by closed-loop measurement
# (``renderer.evaluate``) so that what MediaPipe measures on the render tracks c.
_TUNED = {
    "eyeBlinkLeft": _response(1.0, 0.5), "eyeBlinkRight": _response(1.0, 0.5),
    "jawOpen": _response(1.0, 0.7),
    "mouthSmileLeft": _response(1.4, 0.6), "mouthSmileRight": _response(1.4, 0.6),
}  # fmt: skip
_GAINS = np.ones(NUM_BLENDSHAPES, np.float32)
_GAMMAS = np.ones(NUM_BLENDSHAPES, np.float32)
for _name, (_gain, _gamma) in _TUNED.items():
    _GAINS[index(_name)], _GAMMAS[index(_name)] = _gain, _gamma


def amplitudes(blendshapes: np.ndarray) -> np.ndarray:
    """(52,) commanded values in [0, 1] → (52,) rig amplitudes."""
    return _GAINS * np.power(np.clip(blendshapes, 0.0, 1.0), _GAMMAS)


class Renderer:
    """Renders one character at one output size. Not thread-safe (reuses buffers)."""

    def __init__(self, character: Character, *, size: str | tuple[int, int] = "512") -> None:
        self.character = character
        width, height = parse_size(size)
        self._width, self._height = width, height
        scale, offset = framing(character.face_center, character.face_height, width, height)
        self.scale = scale
        self.frame = frame_reference(character.reference, scale, offset, width, height)
        rig = character.rig
        self._rest = rig.vertices.astype(np.float64).copy()  # (V, 3) in output pixels
        self._rest[:, :2] = self._rest[:, :2] * scale + offset
        self._rest[:, 2] *= scale
        self._pivot = rig.pivot.astype(np.float64) * scale
        self._pivot[:2] += offset
        self._basis = (rig.basis * scale).reshape(NUM_BLENDSHAPES, -1)  # (52, V*2)
        self._face_height = rig.face_height * scale
        self._expression = amplitudes(character.expression.astype(np.float32))
        self._warp = DenseWarp(self._rest, width, height, step=2)
        rest_marks = self._rest[: fm.NUM_LANDMARKS, :2]
        self._mouth = MouthPainter(self.frame, rest_marks, self._face_height)
        self._lids = LidPainter(self.frame, rest_marks, self._face_height)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of rendered frames."""
        return self._width, self._height

    def rest_motion(self) -> np.ndarray:
        """(61,) the motion frame that reproduces the reference: its own expression, no pose."""
        frame = np.zeros(NUM_CHANNELS, np.float32)
        frame[BLENDSHAPE_SLICE] = self.character.expression
        return frame

    def vertex_positions(self, motion: np.ndarray) -> np.ndarray:
        """(V, 2) deformed mesh vertices in output pixels for one motion frame (61,)."""
        m = clip(np.asarray(motion, np.float32).reshape(-1))
        if m.shape[0] != NUM_CHANNELS:
            raise ValueError(f"motion frame has {m.shape[0]} channels; expected {NUM_CHANNELS}")
        delta = amplitudes(m[BLENDSHAPE_SLICE]) - self._expression  # (52,)
        points = self._rest.copy()
        points[:, :2] += (delta @ self._basis).reshape(-1, 2)
        pitch, yaw, roll, head_x, head_y, head_z = (float(v) for v in m[HEAD_SLICE])
        lean_x, lean_y, shrug = (float(v) for v in m[BODY_SLICE])
        rig = self.character.rig
        fh = self._face_height
        moved = points
        if pitch or yaw or roll or head_x or head_y or head_z:
            rotation = _FLIP @ fm.rotation_from_angles(pitch, yaw, roll) @ _FLIP
            head = (points - self._pivot) @ rotation.T * (1.0 + head_z) + self._pivot
            head[:, 0] += head_x * fh
            head[:, 1] -= head_y * fh
            w = rig.head_weight[:, None].astype(np.float64)
            moved = points + w * (head - points)
        xy = moved[:, :2].copy()
        if lean_x or lean_y or shrug:
            body = rig.body_weight[:, None].astype(np.float64)
            anchor = self._pivot[:2] + np.array([0.0, 1.2 * fh])
            grow = 1.0 + 0.08 * lean_y  # leaning forward comes nearer the camera
            leaned = (xy - anchor) * grow + anchor + np.array([0.18 * fh * lean_x, 0.06 * fh * lean_y])
            xy = xy + body * (leaned - xy)
            xy[:, 1] -= 0.12 * fh * shrug * rig.shrug_weight
        return xy

    def _expression_only(self, m: np.ndarray) -> np.ndarray:
        """(478, 2) landmarks moved by the blendshapes alone: how far the lips part, unposed."""
        delta = amplitudes(m[BLENDSHAPE_SLICE]) - self._expression
        moved = (delta @ self._basis).reshape(-1, 2)[: fm.NUM_LANDMARKS]
        return self._rest[: fm.NUM_LANDMARKS, :2] + moved

    def render(self, motion: np.ndarray) -> np.ndarray:
        """(61,) motion frame → (H, W, 3) uint8 RGB."""
        m = clip(np.asarray(motion, np.float32).reshape(-1))
        xy = self.vertex_positions(m)
        out = self._warp.apply(self.frame, (xy - self._rest[:, :2]).astype(np.float32))
        marks, opening = xy[: fm.NUM_LANDMARKS], self._expression_only(m)
        self._mouth.paint(out, marks, opening=opening, tongue_out=float(m[_TONGUE_OUT]))
        self._lids.paint(out, marks, opening=opening)
        return out
