"""Motion frame + character → RGB frame.

Blendshapes are absolute (ARKit values); the rig applies the difference between the commanded
values and the reference's own measured expression, so the reference is reproduced exactly by
``rest_motion()`` and a smiling photo can still close its mouth. Head angles, head translation and
body channels are relative to the reference as photographed (0 = as in the photo).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from avatars import face as fm
from avatars.character import Character
from avatars.motion import (
    BLENDSHAPE_SLICE,
    BLENDSHAPES,
    BODY_SLICE,
    HEAD_SLICE,
    NUM_BLENDSHAPES,
    NUM_CHANNELS,
    clip,
    index,
)
from avatars.relaxation import HIDDEN
from renderer.eyes import LidPainter
from renderer.framing import DEFAULT_FIT, Framing, plan_framing, source_canvas, source_margins
from renderer.mouth import MouthPainter
from renderer.response import JAW as _JAW
from renderer.response import amplitudes, floors
from renderer.silhouette import Outline, visible_depth
from renderer.warp import DenseWarp

# MediaPipe's camera frame (x right, y up, z to the viewer) → image frame (x right, y down, z away).
_FLIP = np.diag([1.0, -1.0, -1.0])
_LEAN_DEGREES = -5.0  # body tilt at bodyLeanX = 1 (towards the image right)
# px between points where the warp is solved (then upsampled; 2 looks the same), for a face of
# up to _GRID_FACE px in the frame; a face shown larger gets a coarser grid in proportion, so the
# solve costs the same per frame (it is smooth at the scale of the face, not of the frame)
_GRID_STEP, _GRID_FACE = 4, 256.0
_TONGUE_OUT = index("tongueOut")
_OVAL = np.array(fm.FACE_OVAL)
_ANGLES = slice(index("headPitch"), index("headPitch") + 3)
_PUCKER, _FUNNEL = index("mouthPucker"), index("mouthFunnel")
_YAW, _PITCH = index("headYaw"), index("headPitch")
_INNER_LIPS = list(fm.LIPS_UPPER_INNER[2:-2] + fm.LIPS_LOWER_INNER[2:-2])  # not the corners
_BLINKS = (index("eyeBlinkRight"), index("eyeBlinkLeft"))  # the order of renderer.eyes
# lids and glances: what eyes behind dark glasses do not show (avatars.lenses)
_EYE_CHANNELS = np.array([k for k, name in enumerate(BLENDSHAPES) if name.startswith("eye")])
# the landmarks that carry the drawn teeth (renderer.mouth reads only the inner lips)
_TEETH_ANCHORS = np.array(sorted(set(fm.LIPS_UPPER_INNER + fm.LIPS_LOWER_INNER)))

# MediaPipe's landmark depth is flatter than a head: turning the face with it reads as a smaller
# turn. The depth scale per axis is tuned by closed-loop measurement (no angle gains).
_YAW_DEPTH, _PITCH_DEPTH = 1.5, 1.0


def _about_depth(rotation: np.ndarray, depth: float) -> np.ndarray:
    """The rotation applied to points whose depth is scaled by ``depth`` first (and back)."""
    return np.diag([1.0, 1.0, 1.0 / depth]) @ rotation @ np.diag([1.0, 1.0, depth])


@functools.lru_cache(maxsize=8)  # a frame poses the mesh and the teeth anchors alike
def head_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """(3, 3) rotation of image-frame points (x right, y down, z away) for relative head angles
    in degrees (the convention of ``avatars.face``): roll, then pitch, then yaw."""
    r_roll = _FLIP @ fm.rotation_from_angles(0.0, 0.0, roll) @ _FLIP
    r_pitch = _about_depth(_FLIP @ fm.rotation_from_angles(pitch, 0.0, 0.0) @ _FLIP, _PITCH_DEPTH)
    r_yaw = _about_depth(_FLIP @ fm.rotation_from_angles(0.0, yaw, 0.0) @ _FLIP, _YAW_DEPTH)
    rotation = r_yaw @ r_pitch @ r_roll
    rotation.setflags(write=False)  # shared by the cache
    return rotation


def _rotate(points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """(N, 3) points rotated by a (3, 3) matrix, without BLAS (see ``_expression_only``)."""
    return np.einsum("ij,nj->ni", rotation, points)


def _grid_step(face_height: float, width: int, height: int) -> int:
    """The warp's grid step for a face ``face_height`` px tall in a ``width`` × ``height`` frame
    (a step must divide both sides)."""
    wanted = _GRID_STEP * max(1, int(face_height // _GRID_FACE) + (face_height % _GRID_FACE > 0))
    for step in range(min(wanted, 2 * _GRID_STEP), 0, -1):
        if width % step == 0 and height % step == 0:
            return step
    return 1


def framing_for(character: Character, size: str | tuple[int, int], fit: str = DEFAULT_FIT) -> Framing:
    """How ``character``'s picture is framed at ``size`` with ``fit`` (renderer.framing)."""
    oval = character.landmarks[_OVAL, :2]
    x0, y0 = oval.min(axis=0)
    x1, y1 = oval.max(axis=0)
    box = (float(x0), float(y0), float(x1), float(y1))
    center = character.face_center
    return plan_framing(character.size, box, character.face_height, size, fit,
                        face_center=(float(center[0]), float(center[1])))  # fmt: skip


class Renderer:
    """Renders one character at one output size. Not thread-safe (reuses buffers)."""

    def __init__(
        self, character: Character, *, size: str | tuple[int, int] = "512", fit: str = DEFAULT_FIT
    ) -> None:
        self.character = character
        self.framing: Framing = framing_for(character, size, fit)
        width, height = self.framing.width, self.framing.height
        self._width, self._height = width, height
        scale, offset = self.framing.scale, np.array(self.framing.offset, np.float64)
        self.scale = scale
        rig = character.rig
        self._face_height = rig.face_height * scale
        step = _grid_step(self._face_height, width, height)
        # the warp reads the frame and, where the picture goes on past its edges, the picture
        # there: a head near the edge turns and moves over the photo's own pixels
        self.margins = source_margins(self.framing, character.size, self._face_height, step)
        left, top = self.margins[:2]
        source = source_canvas(character.reference, self.framing, self.margins)
        self.frame = np.ascontiguousarray(source[top : top + height, left : left + width])
        self._source_rgba = cv2.cvtColor(source, cv2.COLOR_RGB2RGBA)  # the warp's source
        self._rest = rig.vertices.astype(np.float64).copy()  # (V, 3) in output pixels
        self._rest[:, :2] = self._rest[:, :2] * scale + offset
        self._rest[:, 2] *= scale
        # hidden oval points of a turned photo take the depth of the cheek in front of them, and
        # the rings around them move with them
        marks = self._rest[: fm.NUM_LANDMARKS]
        seen = visible_depth(marks[:, :2], marks[:, 2], rig.face_height * scale)
        shift = seen - marks[:, 2]
        self._rest[: fm.NUM_LANDMARKS, 2] = seen
        for level in range(2):
            self._rest[fm.NUM_LANDMARKS + level * len(_OVAL) + np.arange(len(_OVAL)), 2] += shift[_OVAL]
        self._pivot = rig.pivot.astype(np.float64) * scale
        self._pivot[:2] += offset
        self._basis = (rig.basis * scale).reshape(NUM_BLENDSHAPES, -1)  # (52, V*2)
        # only the few channels that move vertices in depth (rounded lips, the jaw) are kept
        self._depth_channels = np.flatnonzero(np.any(rig.depth_basis != 0, axis=1))
        self._depth_basis = rig.depth_basis[self._depth_channels].astype(np.float64) * scale  # (D, V)
        self._jaw_depth = rig.depth_basis[_JAW].astype(np.float64) * scale  # (V,)
        self._own = character.expression.astype(np.float32)  # (52,) the photo's expression
        self._expression = amplitudes(self._own)
        self._floor = floors(character, self._expression)
        self._eyes_hidden = character.relaxation.part("lids").action == HIDDEN
        self._amplitudes_key, self._amplitudes_last = b"", self._expression
        self._expressed_key, self._expressed_last = b"", self._rest[:, :2]
        rest_marks = self._rest[: fm.NUM_LANDMARKS, :2]
        # the hair rings around the face that follow the head (one vertex per oval point; the
        # outermost ring stays with the background)
        rings = fm.NUM_LANDMARKS + np.arange(2 * len(_OVAL))
        self._outline = Outline(self._rest[:, :2], rings, self._face_height)
        # where the mesh folds, the nearer surface is in front: the head over the background,
        # and within the head the nose over the cheek behind it
        oval_depth = float(self._rest[_OVAL, 2].mean())
        nearness = np.clip((oval_depth - self._rest[:, 2]) / self._face_height, 0.0, 1.0)
        layer = rig.head_weight + 0.5 * nearness * (rig.head_weight >= 1.0)
        # the face inside its outline keeps its map as solved (lids and lips compress steeply);
        # from the outline out, a fold's stair-step is smoothed
        sharp = np.zeros(len(self._rest), np.float32)
        sharp[: fm.NUM_LANDMARKS] = 1.0
        sharp[_OVAL] = 0.0
        in_source = self._rest.copy()
        in_source[:, :2] += (left, top)
        self._warp = DenseWarp(in_source, source.shape[1], source.shape[0], step=step, layer=layer,
                               sharp=sharp, margins=self.margins)  # fmt: skip
        self._mouth = MouthPainter(self.frame, rest_marks, self._face_height, teeth=character.teeth,
                                   magnified=self.scale)  # fmt: skip
        self._lids = LidPainter(self.frame, rest_marks, self._face_height)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of rendered frames."""
        return self._width, self._height

    def _amplitudes(self, blendshapes: np.ndarray) -> np.ndarray:
        """(52,) rig amplitudes of commanded blendshapes (52,), relative to this photo
        (read-only: a frame asks for them several times, so the last answer is kept)."""
        key = blendshapes.tobytes()
        if key != self._amplitudes_key:
            amps = amplitudes(blendshapes, self._own, self._floor)
            if self._eyes_hidden:  # behind dark glasses the lids stay as photographed
                amps[_EYE_CHANNELS] = self._expression[_EYE_CHANNELS]
            amps.setflags(write=False)
            self._amplitudes_key, self._amplitudes_last = key, amps
        return self._amplitudes_last

    def _expressed(self, m: np.ndarray) -> np.ndarray:
        """(V, 2) rest vertices moved by ``m``'s blendshapes alone (read-only; the mesh and the
        mouth painter ask for it in one frame, so the last answer is kept)."""
        key = m[BLENDSHAPE_SLICE].tobytes()
        if key != self._expressed_key:
            moved = self._expression_only(m, self._rest[:, :2])
            moved.setflags(write=False)
            self._expressed_key, self._expressed_last = key, moved
        return self._expressed_last

    def rest_motion(self) -> np.ndarray:
        """(61,) the motion frame that reproduces the reference: its own expression, no pose."""
        frame = np.zeros(NUM_CHANNELS, np.float32)
        frame[BLENDSHAPE_SLICE] = self.character.expression
        return frame

    def _motion(self, motion: np.ndarray) -> np.ndarray:
        """(61,) a motion frame clipped to its channels' ranges, its head turn limited to what
        the photo can show (``character.facts.head_range``)."""
        m = clip(np.asarray(motion, np.float32).reshape(-1))
        if m.shape[0] != NUM_CHANNELS:
            raise ValueError(f"motion frame has {m.shape[0]} channels; expected {NUM_CHANNELS}")
        facts = self.character.facts
        if facts is not None and (m[_YAW] or m[_PITCH]):
            m[_YAW], m[_PITCH] = facts.head_range.clamp(float(m[_YAW]), float(m[_PITCH]))
        return m

    def vertex_positions(self, motion: np.ndarray) -> np.ndarray:
        """(V, 2) deformed mesh vertices in output pixels for one motion frame (61,)."""
        m = self._motion(motion)
        points = self._rest.copy()
        points[:, :2] = self._expressed(m)
        if np.any(m[_ANGLES]):
            # depth only shows when the head turns: pushed-out lips and a chin swung back move
            # along the face
            delta = (self._amplitudes(m[BLENDSHAPE_SLICE]) - self._expression)[self._depth_channels]
            points[:, 2] += np.einsum("k,kv->v", delta, self._depth_basis)
            xy = self._pose(m, points, slice(None))
            self._outline.keep(xy)
            return xy
        return self._pose(m, points, slice(None))

    def _pose(self, m: np.ndarray, points: np.ndarray, which: slice | np.ndarray) -> np.ndarray:
        """(n, 2): the mesh vertices ``which`` (n of them), at ``points`` (n, 3), moved by
        ``m``'s head and body channels."""
        pitch, yaw, roll, head_x, head_y, head_z = (float(v) for v in m[HEAD_SLICE])
        lean_x, lean_y, shrug = (float(v) for v in m[BODY_SLICE])
        rig = self.character.rig
        fh = self._face_height
        moved = points
        if pitch or yaw or roll or head_x or head_y or head_z:
            rotation = head_rotation(pitch, yaw, roll)
            head = _rotate(points - self._pivot, rotation) * (1.0 + head_z) + self._pivot
            head[:, 0] += head_x * fh
            head[:, 1] -= head_y * fh
            w = rig.head_weight[which, None].astype(np.float64)
            moved = points + w * (head - points)
        xy = moved[:, :2].copy()
        if lean_x or lean_y or shrug:
            body = rig.body_weight[which, None].astype(np.float64)
            # Leaning sideways tilts the upper body about the hips, far below the frame, so the
            # frame's (pinned) lower edge moves least; leaning forward comes nearer the camera.
            hips = self._pivot[:2] + np.array([0.0, 3.0 * fh])
            tilt = np.radians(_LEAN_DEGREES * lean_x)
            c, s_ = np.cos(tilt), np.sin(tilt)
            rel = xy - hips
            tilted = np.stack([c * rel[:, 0] + s_ * rel[:, 1], -s_ * rel[:, 0] + c * rel[:, 1]], 1)
            anchor = self._pivot[:2] + np.array([0.0, 1.2 * fh])
            grow = 1.0 + 0.08 * lean_y
            leaned = (tilted + hips - anchor) * grow + anchor + np.array([0.0, 0.06 * fh * lean_y])
            xy = xy + body * (leaned - xy)
            xy[:, 1] -= 0.12 * fh * shrug * rig.shrug_weight[which]
        return xy

    def _teeth_anchors(self, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(skull, jaw), each (478, 2): the landmarks posed by the head with the reference's
        expression (they carry the upper teeth), and the same with only the commanded jaw
        opening (they carry the lower teeth). Only the inner lips' landmarks (the teeth's
        anchors) are computed; the rest are NaN."""
        lips = _TEETH_ANCHORS
        rest = self._rest[lips]
        jaw_delta = float(self._amplitudes(m[BLENDSHAPE_SLICE])[_JAW] - self._expression[_JAW])
        opened = rest.copy()
        opened[:, :2] += jaw_delta * self._basis[_JAW].reshape(-1, 2)[lips]
        opened[:, 2] += jaw_delta * self._jaw_depth[lips]  # the jaw swings back as it opens
        # both sets posed in one pass (each point moves on its own)
        posed = self._pose(m, np.concatenate([rest, opened]), np.concatenate([lips, lips]))
        skull = np.full((fm.NUM_LANDMARKS, 2), np.nan)
        jaw = np.full((fm.NUM_LANDMARKS, 2), np.nan)
        skull[lips], jaw[lips] = posed[: len(lips)], posed[len(lips) :]
        return skull, jaw

    def _lid_closures(self, m: np.ndarray) -> tuple[float, float]:
        """(right, left): how far each upper lid comes down beyond the reference's, 0..1."""
        wanted = self._amplitudes(m[BLENDSHAPE_SLICE])
        out = []
        for k in _BLINKS:
            own = float(self._expression[k])
            out.append(min(max(float(wanted[k] - own) / max(1.0 - own, 1e-3), 0.0), 1.0))
        return out[0], out[1]

    def _expression_only(self, m: np.ndarray, rest: np.ndarray) -> np.ndarray:
        """(V, 2) ``rest`` vertices moved by the blendshapes alone (no head or body motion)."""
        shapes = m[BLENDSHAPE_SLICE]
        delta = self._amplitudes(shapes) - self._expression  # (52,)
        # einsum, not @: tiny products through a threaded BLAS cost more in wake-ups than work
        return rest + np.einsum("k,kv->v", delta, self._basis).reshape(-1, 2)

    def source_maps(self, motion: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(map_x, map_y), each (H, W) float32: where each output pixel is read from in
        ``self.frame`` for this motion (before the mouth and lids are drawn)."""
        m = self._motion(motion)
        displacement = (self.vertex_positions(m) - self._rest[:, :2]).astype(np.float32)
        return self._warp.source_maps(self._warp.backward_field(displacement))

    def render(self, motion: np.ndarray) -> np.ndarray:
        """(61,) motion frame → (H, W, 3) uint8 RGB."""
        m = self._motion(motion)
        xy = self.vertex_positions(m)
        out = self.warp(m, xy)
        self.paint(out, m, xy)
        return out

    def warp(self, m: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """The reference warped to the deformed mesh ``xy`` (V, 2) (``vertex_positions(m)``)."""
        box = self._opening_box(m, xy)
        if box is not None:  # in the warp's source, the frame and its margins
            left, top = self.margins[:2]
            box = (box[0] + left, box[1] + top, box[2] + left, box[3] + top)
        return self._warp.apply(self.frame, (xy - self._rest[:, :2]).astype(np.float32), box,
                                source_rgba=self._source_rgba)  # fmt: skip

    def _opening_box(
        self, m: np.ndarray, xy: np.ndarray
    ) -> tuple[float, float, float, float] | None:
        """Output box inside the inner lips when they part beyond the reference (the mouth
        interior is painted there), else None."""
        if float(self._amplitudes(m[BLENDSHAPE_SLICE])[_JAW]) <= float(self._expression[_JAW]):
            return None
        lips = xy[_INNER_LIPS]
        x0, y0 = lips.min(axis=0)
        x1, y1 = lips.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def paint(self, out: np.ndarray, m: np.ndarray, xy: np.ndarray) -> None:
        """Draw the mouth interior and eyelids into the warped frame ``out``."""
        marks = xy[: fm.NUM_LANDMARKS]
        opening = self._expressed(m)[: fm.NUM_LANDMARKS]
        # the skull (head pose, the reference's expression) carries the upper teeth, the jaw
        # (the same with the commanded jaw opening) the lower ones
        self._mouth.paint(out, marks, opening=opening, tongue_out=float(m[_TONGUE_OUT]),
                          teeth_anchors=lambda: self._teeth_anchors(m),
                          rounded=self._rounding(m))  # fmt: skip
        self._lids.paint(out, marks, closures=self._lid_closures(m))

    def _rounding(self, m: np.ndarray) -> float:
        """0..1: how much more the lips are rounded (pucker, funnel) than in the reference."""
        own = self.character.expression
        return max(0.0, float(m[_PUCKER]) - float(own[_PUCKER]),
                   float(m[_FUNNEL]) - float(own[_FUNNEL]))  # fmt: skip
