"""The rig: mesh vertices over face, hair, neck and shoulders, and one displacement field per
blendshape on them, all derived from the reference's 478 landmarks.

Displacements are hand-designed on landmark groups (lips, lids, brows, cheeks, nose, jaw) in a
face frame (x along the eye line, y down, unit = face height) and tuned by measuring rendered frames
with MediaPipe (``renderer.evaluate``). Everything here is in reference-image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avatars import face as fm
from avatars.motion import BLENDSHAPES, NUM_BLENDSHAPES

N_LANDMARKS = fm.NUM_LANDMARKS
BLINK_WARP = 0.4  # share of a blink done by warping the upper lid; renderer.eyes draws the rest
_RING_SCALES = (1.3, 1.7, 2.4)
_RING_HEAD_WEIGHT = (1.0, 0.6, 0.0)
_RING_JAW_WEIGHT = (0.8, 0.4, 0.0)
_JAW_TRAVEL = 0.24  # face heights the lower lip drops at jawOpen = 1 (about 4.5 cm)
_JAW_CORNER = 0.2  # share of the lower lip's drop its ends take at the mouth corners
_JAW_SWING_BACK = 0.5  # how far the chin moves back for each unit it drops
# mouthPucker = 1: each corner comes in this share of the half mouth width times the mouth's
# falloff there (0.6 x 0.66: 0.2 mouth widths, so a pucker is some 60% as wide as the relaxed
# mouth), and the pushed-out lips look this much fuller
_PUCKER_GATHER, _PUCKER_POUT = 0.6, 0.3
# mouthFunnel = 1 opens the lips 0.1 face heights (about 2 cm) at the middle: a rounded
# opening, smaller than a half-dropped jaw's
_FUNNEL_OPEN = 0.9
# the corners come in a third as far as for a pucker: MediaPipe reads narrowing as pucker, so
# this trades the funnel reading against the pucker one (avatars/RIG.md: how MediaPipe reads them)
_FUNNEL_GATHER = 0.21
_LIP_PROTRUSION = 0.06  # face heights rounded lips come forward at mouthPucker/Funnel = 1
# browInnerUp: the frontalis lifts the forehead as a sheet, most at the inner brows and less
# towards the temples (a field this broad keeps the raise visible on a turned or nodding head);
# face heights: falloff radius around each inner brow, fade-in height above the lid, lift
_BROW_RADIUS, _BROW_FADE, _BROW_LIFT = 0.18, 0.06, 0.085


@dataclass(frozen=True)
class Rig:
    vertices: np.ndarray  # (V, 3) rest positions, pixels (z: depth, larger = farther)
    basis: np.ndarray  # (52, V, 2) displacement per unit of each blendshape, pixels
    depth_basis: np.ndarray  # (52, V) depth change per unit (negative = towards the viewer), px
    head_weight: np.ndarray  # (V,) how much a vertex follows the head (1 face/hair … 0 background)
    body_weight: np.ndarray  # (V,) how much a vertex follows the torso lean
    shrug_weight: np.ndarray  # (V,) how much a vertex rises with a shoulder shrug
    pivot: np.ndarray  # (3,) neck pivot of head rotation
    axes: np.ndarray  # (2, 2) rows: face x axis (eye line), face y axis (down)
    face_height: float

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "vertices": self.vertices, "basis": self.basis, "depth_basis": self.depth_basis,
            "head_weight": self.head_weight,
            "body_weight": self.body_weight, "shrug_weight": self.shrug_weight,
            "pivot": self.pivot, "axes": self.axes,
            "face_height": np.array([self.face_height], np.float32),
        }  # fmt: skip

    @classmethod
    def from_arrays(cls, data: dict[str, np.ndarray]) -> Rig:
        basis = data["basis"]
        # characters stored before the depth basis existed: their expressions stay flat
        depth = data.get("depth_basis", np.zeros(basis.shape[:2], np.float32))
        return cls(
            vertices=data["vertices"], basis=basis, depth_basis=depth,
            head_weight=data["head_weight"],
            body_weight=data["body_weight"], shrug_weight=data["shrug_weight"],
            pivot=data["pivot"], axes=data["axes"], face_height=float(data["face_height"][0]),
        )  # fmt: skip


def _smoothstep(x: np.ndarray) -> np.ndarray:
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gauss(points: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    """exp(-d²/r²) falloff of face-frame points (N, 2) around ``center``."""
    d2 = ((points - center) ** 2).sum(axis=1)
    return np.exp(-d2 / (radius * radius))


class _FaceFrame:
    """Face-frame coordinates of the landmarks: origin between the eyes, unit = face height."""

    def __init__(self, landmarks: np.ndarray) -> None:
        xy = landmarks[:, :2].astype(np.float64)
        right_eye = xy[list(fm.RIGHT_EYE_UPPER + fm.RIGHT_EYE_LOWER)].mean(axis=0)
        left_eye = xy[list(fm.LEFT_EYE_UPPER + fm.LEFT_EYE_LOWER)].mean(axis=0)
        ex = left_eye - right_eye
        ex /= np.linalg.norm(ex)
        ey = np.array([-ex[1], ex[0]])  # image y grows downwards
        self.axes = np.stack([ex, ey])
        self.origin = (left_eye + right_eye) / 2
        self.height = float(np.linalg.norm(xy[fm.FOREHEAD_TOP] - xy[fm.CHIN]))
        self.points = self.to_face(xy)
        # depth from the nose tip, larger = farther from the viewer, in face heights
        self.depth = (landmarks[:, 2].astype(np.float64) - float(landmarks[1, 2])) / self.height

    def to_face(self, xy: np.ndarray) -> np.ndarray:
        return (xy - self.origin) @ self.axes.T / self.height

    def to_image_vectors(self, d: np.ndarray) -> np.ndarray:
        """Face-frame displacements (N, 2) → image pixels (N, 2)."""
        return (d @ self.axes) * self.height


def build_rig(landmarks: np.ndarray) -> Rig:
    """The rig for one reference, from its (478, 3) landmarks in pixels."""
    frame = _FaceFrame(landmarks)
    extra, ring_parent, ring_level, extra_head, extra_body, extra_shrug = _extra_vertices(
        landmarks, frame
    )
    vertices = np.concatenate([landmarks.astype(np.float32), extra]).astype(np.float32)
    n_vertices = vertices.shape[0]
    face_basis, face_depth = _landmark_basis(frame)  # (52, 478, 2), (52, 478) in face units
    basis = np.zeros((NUM_BLENDSHAPES, n_vertices, 2), np.float32)
    basis[:, :N_LANDMARKS] = frame.to_image_vectors(face_basis.reshape(-1, 2)).reshape(
        NUM_BLENDSHAPES, N_LANDMARKS, 2
    )
    depth_basis = np.zeros((NUM_BLENDSHAPES, n_vertices), np.float32)
    depth_basis[:, :N_LANDMARKS] = face_depth * frame.height
    # Rings around the lower face follow the jaw so the chin never folds over the neck.
    for name in ("jawOpen", "jawLeft", "jawRight", "jawForward"):
        k = BLENDSHAPES.index(name)
        for ring, parent in enumerate(ring_parent):
            if parent >= 0:
                factor = _RING_JAW_WEIGHT[ring_level[ring]]
                basis[k, N_LANDMARKS + ring] = basis[k, parent] * factor
    head_weight = np.concatenate([np.ones(N_LANDMARKS, np.float32), extra_head])
    body_weight = np.concatenate([np.ones(N_LANDMARKS, np.float32), extra_body])
    shrug_weight = np.concatenate([np.zeros(N_LANDMARKS, np.float32), extra_shrug])
    chin = landmarks[fm.CHIN].astype(np.float64)
    pivot_xy = chin[:2] + frame.axes[1] * 0.3 * frame.height
    pivot_z = float(np.median(landmarks[:, 2])) + 0.55 * frame.height
    pivot = np.array([pivot_xy[0], pivot_xy[1], pivot_z], np.float32)
    return Rig(
        vertices=vertices,
        basis=basis,
        depth_basis=depth_basis,
        head_weight=head_weight.astype(np.float32),
        body_weight=body_weight.astype(np.float32),
        shrug_weight=shrug_weight.astype(np.float32),
        pivot=pivot,
        axes=frame.axes.astype(np.float32),
        face_height=frame.height,
    )


def _extra_vertices(
    landmarks: np.ndarray, frame: _FaceFrame
) -> tuple[np.ndarray, list[int], list[int], np.ndarray, np.ndarray, np.ndarray]:
    """Hair/ear rings around the face oval, neck, shoulders and chest."""
    xy = landmarks[:, :2].astype(np.float64)
    oval = list(fm.FACE_OVAL)
    center = xy[oval].mean(axis=0)
    fh = frame.height
    ex, ey = frame.axes
    points: list[np.ndarray] = []
    parents: list[int] = []
    levels: list[int] = []
    head: list[float] = []
    body: list[float] = []
    shrug: list[float] = []
    chin_v = frame.points[fm.CHIN, 1]
    for level, (scale, weight) in enumerate(zip(_RING_SCALES, _RING_HEAD_WEIGHT, strict=True)):
        for idx in oval:
            p = center + scale * (xy[idx] - center)
            lower = frame.to_face(p[None])[0, 1] > chin_v * 0.6
            z = landmarks[idx, 2] + 0.35 * fh * (scale - 1.0)
            points.append(np.array([p[0], p[1], z]))
            parents.append(idx if lower else -1)
            levels.append(level)
            head.append(weight * (0.6 if lower else 1.0))
            body.append(1.0 if level < 2 else 0.3)
            shrug.append(0.0)
    chin = xy[fm.CHIN]
    z0 = float(np.median(landmarks[:, 2])) + 0.3 * fh
    torso = [
        # (across, down, head, body, shrug) in face heights from the chin
        (-0.28, 0.45, 0.35, 1.0, 0.2), (0.28, 0.45, 0.35, 1.0, 0.2), (0.0, 0.45, 0.4, 1.0, 0.1),
        (-0.32, 0.8, 0.05, 1.0, 0.5), (0.32, 0.8, 0.05, 1.0, 0.5), (0.0, 0.85, 0.05, 1.0, 0.3),
        (-0.9, 0.85, 0.0, 1.0, 1.0), (0.9, 0.85, 0.0, 1.0, 1.0),
        (-1.5, 1.0, 0.0, 1.0, 1.0), (1.5, 1.0, 0.0, 1.0, 1.0),
        (-1.6, 1.7, 0.0, 1.0, 0.3), (-0.6, 1.6, 0.0, 1.0, 0.3), (0.6, 1.6, 0.0, 1.0, 0.3),
        (1.6, 1.7, 0.0, 1.0, 0.3),
    ]  # fmt: skip
    for across, down, h, b, s in torso:
        p = chin + ex * across * fh + ey * down * fh
        points.append(np.array([p[0], p[1], z0]))
        parents.append(-1)
        levels.append(2)
        head.append(h)
        body.append(b)
        shrug.append(s)
    return (
        np.array(points, np.float32),
        parents,
        levels,
        np.array(head, np.float32),
        np.array(body, np.float32),
        np.array(shrug, np.float32),
    )


def _landmark_basis(frame: _FaceFrame) -> tuple[np.ndarray, np.ndarray]:
    """(52, 478, 2) displacement of each landmark per unit blendshape in the image plane and
    (52, 478) in depth (negative = towards the viewer), in face units."""
    p = frame.points
    basis = np.zeros((NUM_BLENDSHAPES, N_LANDMARKS, 2), np.float64)
    depth = np.zeros((NUM_BLENDSHAPES, N_LANDMARKS), np.float64)

    def put(name: str, d: np.ndarray) -> None:
        basis[BLENDSHAPES.index(name)] += d

    def put_depth(name: str, dz: np.ndarray) -> None:
        depth[BLENDSHAPES.index(name)] += dz

    _mouth(p, frame.depth, put, put_depth)
    _inner_brows(p, put)
    for side in ("Left", "Right"):
        _eye(p, side, put)
        _brow_and_cheek(p, side, put)
    return basis.astype(np.float32), depth.astype(np.float32)


def _lower_weight(p: np.ndarray) -> np.ndarray:
    """1 for the lower lip and jaw, 0 for the upper lip and above, by the mouth line."""
    upper = p[list(fm.LIPS_UPPER_INNER)]
    lower = p[list(fm.LIPS_LOWER_INNER)]
    line_x = (upper[:, 0] + lower[:, 0]) / 2
    line_y = (upper[:, 1] + lower[:, 1]) / 2
    order = np.argsort(line_x)
    y_at = np.interp(p[:, 0], line_x[order], line_y[order])
    w = _smoothstep((p[:, 1] - y_at) / 0.03 + 0.5)
    w[list(fm.LIPS_UPPER_INNER + fm.LIPS_UPPER_OUTER)] = 0.0
    w[list(fm.LIPS_LOWER_INNER + fm.LIPS_LOWER_OUTER)] = 1.0
    w[[fm.MOUTH_LEFT_CORNER, fm.MOUTH_RIGHT_CORNER, 78, 308]] = 0.5
    return w


def _mouth(p: np.ndarray, depth: np.ndarray, put, put_depth) -> None:  # type: ignore[no-untyped-def]
    center = (p[13] + p[14]) / 2
    mouth_w = float(np.linalg.norm(p[fm.MOUTH_LEFT_CORNER] - p[fm.MOUTH_RIGHT_CORNER]))
    lower = _lower_weight(p)
    upper = 1.0 - lower
    rel = p - center
    near_mouth = _gauss(p, center, 0.75 * mouth_w)
    lips = _gauss(p, center, 0.45 * mouth_w)
    # flat over the whole mouth, falling off quickly beyond the corners
    mouth = np.exp(-((((rel / [0.62 * mouth_w, 0.4 * mouth_w]) ** 2).sum(axis=1)) ** 2))
    # Jaw: a rotation about the hinges in front of the ears. Seen from the front a point moves
    # down in proportion to how far in front of the hinge axis it lies (the chin and lower lip
    # most, the jaw angles little); the backward part of the motion is invisible.
    hinge_z = float(depth[[234, 454]].mean()) + 0.12
    forward = np.clip((hinge_z - depth) / max(hinge_z - depth[fm.CHIN], 1e-3), 0.0, 1.0)
    # landmark depth is noisy point to point: neighbours must move alike or the skin folds
    near = np.exp(-((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=2) / 0.06**2)
    jaw = lower * (near @ forward) / near.sum(axis=1)
    # The lower lip hangs from the mouth corners: it drops fully in the middle and less towards
    # the corners, so the opening is a rounded lens, not a box with flared corners.
    inner_half = float(np.linalg.norm(p[78] - p[308])) / 2  # the inner lips' corners
    across = np.clip(np.abs(rel[:, 0]) / max(inner_half, 1e-3), 0.0, 1.0)
    taper = _JAW_CORNER + (1.0 - _JAW_CORNER) * np.sqrt(1.0 - across**2)
    on_lip = np.exp(-((((rel / [0.62 * mouth_w, 0.25 * mouth_w]) ** 2).sum(axis=1)) ** 2))
    lip_jaw = jaw * (1.0 - on_lip * (1.0 - taper))
    put("jawOpen", np.stack([np.zeros_like(jaw), _JAW_TRAVEL * lip_jaw], axis=1))
    # ... and the part of the turn a front view hides: below the hinge the jaw swings back,
    # the chin most, about half as far as it drops (the condyles glide forward as the jaw
    # turns); a nodding head shows it as the chin moving along the face
    below = np.clip(p[:, 1] - p[[234, 454], 1].mean(), 0.0, None)
    back = (near @ (lower * below)) / near.sum(axis=1)
    put_depth("jawOpen", _JAW_SWING_BACK * _JAW_TRAVEL * back / max(back[fm.CHIN], 1e-3))
    put("jawLeft", np.stack([0.06 * jaw, np.zeros_like(jaw)], axis=1))
    put("jawRight", np.stack([-0.06 * jaw, np.zeros_like(jaw)], axis=1))
    put("jawForward", np.stack([np.zeros_like(jaw), 0.015 * jaw], axis=1))
    put("tongueOut", np.stack([np.zeros_like(jaw), 0.05 * jaw], axis=1))  # lips part for it
    # mouthClose closes the lips against an open jaw (ARKit): per unit it undoes the jaw's
    # opening at the lips; the renderer scales it by how far the jaw is open.
    lip_part = lip_jaw * _gauss(p, center, 0.5 * mouth_w)
    put("mouthClose", np.stack([np.zeros_like(jaw), -_JAW_TRAVEL * 0.9 * lip_part], axis=1))
    # Pucker: lips gather to the centre; funnel: gather less and open into a ring.
    gather = -rel[:, 0] * mouth
    pout = rel[:, 1] * mouth  # lips pushed forward look fuller: outer edges move apart
    # ... and the corners come to the level of the mouth's centre, so the lips round up
    # rather than pinch into a V (a smiling reference has raised corners)
    sideways = np.clip(np.abs(rel[:, 0]) / (0.5 * mouth_w), 0.0, 1.0)
    level = -0.6 * rel[:, 1] * mouth * sideways
    # Pucker: the lips pushed forward and together, the corners drawn in to a small round mouth.
    put("mouthPucker", np.stack([_PUCKER_GATHER * gather, _PUCKER_POUT * pout + level], axis=1))
    # Rounded lips are pushed towards the viewer (about a centimetre, 0.06 face heights): seen
    # from the front that changes nothing, but a turned or nodding head shows them off the face.
    # (the lips only: the nose above and the chin below stay where they are)
    on_lip_line = np.exp(-((((rel / [0.6 * mouth_w, 0.25 * mouth_w]) ** 2).sum(axis=1)) ** 2))
    put_depth("mouthPucker", -_LIP_PROTRUSION * on_lip_line)
    put_depth("mouthFunnel", -_LIP_PROTRUSION * on_lip_line)
    # Funnel: the lips turn outwards around a rounded opening, taller than wide; the corners come
    # in less than for a pucker and the jaw stays (the opening is the lips'). Outer lip edges
    # move further than the inner ones: the everted lips show more of their red.
    # only the lips open: the chin and the skin below the lip stay (a funnel is not a jaw drop)
    on_lips = _gauss(p, center, 0.3 * mouth_w)
    # an elliptic profile across the mouth: an oval opening, not a diamond
    ring = np.sqrt(np.clip(1.0 - (rel[:, 0] / (0.5 * mouth_w)) ** 2, 0.0, 1.0)) * on_lips
    outer = np.zeros(len(p))
    outer[list(fm.LIPS_UPPER_OUTER[1:-1])] = -1.0
    outer[list(fm.LIPS_LOWER_OUTER[1:-1])] = 1.0
    funnel_v = _FUNNEL_OPEN * (0.07 * lower - 0.045 * upper) * ring + 0.1 * pout * on_lips
    funnel_v = funnel_v + 0.02 * outer * ring
    put("mouthFunnel", np.stack([_FUNNEL_GATHER * gather, funnel_v], axis=1))
    shift = np.stack([near_mouth, np.zeros_like(near_mouth)], axis=1)
    put("mouthLeft", 0.05 * shift)
    put("mouthRight", -0.05 * shift)
    put("mouthRollLower", np.stack([0 * lips, -0.025 * lower * lips * (rel[:, 1] > 0.01)], axis=1))
    put("mouthRollUpper", np.stack([0 * lips, 0.02 * upper * lips * (rel[:, 1] < -0.01)], axis=1))
    put("mouthShrugLower", np.stack([0 * lips, -0.03 * lower * near_mouth], axis=1))
    put("mouthShrugUpper", np.stack([0 * lips, -0.02 * upper * lips], axis=1))
    for side, corner in (("Left", fm.MOUTH_LEFT_CORNER), ("Right", fm.MOUTH_RIGHT_CORNER)):
        out = 1.0 if p[corner, 0] > center[0] else -1.0
        at_corner = _gauss(p, p[corner], 0.4 * mouth_w)
        half = _smoothstep(out * rel[:, 0] / (0.25 * mouth_w) + 0.5) * lips
        put(f"mouthSmile{side}", np.stack([0.03 * out * at_corner, -0.06 * at_corner], axis=1))
        put(f"mouthFrown{side}", np.stack([0.01 * out * at_corner, 0.045 * at_corner], axis=1))
        put(f"mouthDimple{side}", np.stack([0.035 * out * at_corner, -0.005 * at_corner], axis=1))
        put(f"mouthStretch{side}", np.stack([0.05 * out * at_corner, 0.02 * at_corner], axis=1))
        put(f"mouthPress{side}", np.stack([0 * half, (0.012 * upper - 0.012 * lower) * half], 1))
        put(f"mouthLowerDown{side}", np.stack([0 * half, 0.04 * lower * half], axis=1))
        put(f"mouthUpperUp{side}", np.stack([0 * half, -0.035 * upper * half], axis=1))


def _eye(p: np.ndarray, side: str, put) -> None:  # type: ignore[no-untyped-def]
    upper_ids = list(fm.LEFT_EYE_UPPER if side == "Left" else fm.RIGHT_EYE_UPPER)
    lower_ids = list(fm.LEFT_EYE_LOWER if side == "Left" else fm.RIGHT_EYE_LOWER)
    iris_ids = list(fm.LEFT_IRIS if side == "Left" else fm.RIGHT_IRIS)
    upper, lower = p[upper_ids], p[lower_ids]
    center = (upper.mean(axis=0) + lower.mean(axis=0)) / 2
    width = float(np.linalg.norm(upper[0] - upper[-1]))
    gap = float(np.mean(lower[2:-2, 1] - upper[2:-2, 1]))
    gap = max(gap, 0.05 * width)
    nose_side = 1.0 if p[1, 0] > center[0] else -1.0  # +1 when the nose is to the image right
    # Lids and the skin above them: falloff with distance from the eye, none below the lower lid.
    near = _gauss(p, center, 0.9 * width)
    above = near * (p[:, 1] < center[1] + 0.02)
    lid_gap = np.zeros(N_LANDMARKS)
    lid_gap[upper_ids] = lower[:, 1] - upper[:, 1]
    blink = 0.6 * gap * above  # the upper lid closing, as a warp (squint, wide, look down use it)
    blink[upper_ids] = 0.97 * lid_gap[upper_ids]
    blink[iris_ids] = 0.85 * gap
    blink[lower_ids] = -0.03 * gap
    zeros = np.zeros(N_LANDMARKS)
    # A blink covers the eye (renderer.eyes draws the lid); the warp only lets the skin between
    # lid and brow descend with it, and the upper lid itself part of the way
    # (BLINK_WARP of the gap, the eye beneath squeezed only that much).
    descend = BLINK_WARP * blink
    descend[iris_ids] = BLINK_WARP * 0.5 * gap
    put(f"eyeBlink{side}", np.stack([zeros, descend], axis=1))
    squint = 0.25 * blink
    lower_near = _gauss(p, center, 0.7 * width) * (p[:, 1] > center[1])
    squint = squint - 0.35 * gap * lower_near
    put(f"eyeSquint{side}", np.stack([zeros, squint], axis=1))
    put(f"eyeWide{side}", np.stack([zeros, -0.45 * blink], axis=1))
    look = np.zeros(N_LANDMARKS)
    look[iris_ids] = 1.0
    put(f"eyeLookIn{side}", np.stack([0.22 * width * nose_side * look, zeros], axis=1))
    put(f"eyeLookOut{side}", np.stack([-0.22 * width * nose_side * look, zeros], axis=1))
    put(f"eyeLookUp{side}", np.stack([zeros, -0.5 * gap * look - 0.15 * gap * above], axis=1))
    put(f"eyeLookDown{side}", np.stack([zeros, 0.4 * gap * look + 0.2 * blink], axis=1))


def _inner_brows(p: np.ndarray, put) -> None:  # type: ignore[no-untyped-def]
    """browInnerUp: both inner brows rise, the forehead with them. Each point follows the nearer
    inner brow (the larger weight), so the skin between the brows rises no more than they do."""
    nose_x = p[1, 0]
    weights, across = [], []
    for brow_ids, eye_ids in ((fm.LEFT_BROW, fm.LEFT_EYE_UPPER), (fm.RIGHT_BROW, fm.RIGHT_EYE_UPPER)):
        brow = p[list(brow_ids)]
        inner = brow[np.argmin(np.abs(brow[:, 0] - nose_x))]
        out = 1.0 if brow[:, 0].mean() > nose_x else -1.0
        eye_top = p[list(eye_ids)].mean(axis=0)
        # the lid and whatever rests around the eye stay: the field fades out well above the
        # upper lid (a glasses rim above it still bends)
        w = _gauss(p, inner, _BROW_RADIUS) * _smoothstep((eye_top[1] - p[:, 1]) / _BROW_FADE)
        weights.append(w)
        across.append(-0.006 * out * w)  # the inner brows draw a little towards each other
    lift = np.maximum(weights[0], weights[1])
    put("browInnerUp", np.stack([across[0] + across[1], -_BROW_LIFT * lift], axis=1))


def _brow_and_cheek(p: np.ndarray, side: str, put) -> None:  # type: ignore[no-untyped-def]
    brow_ids = list(fm.LEFT_BROW if side == "Left" else fm.RIGHT_BROW)
    eye_ids = list(fm.LEFT_EYE_UPPER if side == "Left" else fm.RIGHT_EYE_UPPER)
    brow = p[brow_ids]
    nose_x = p[1, 0]
    outer = brow[np.argmax(np.abs(brow[:, 0] - nose_x))]
    out = 1.0 if outer[0] > nose_x else -1.0
    eye_top = p[eye_ids].mean(axis=0)
    above_eye = _smoothstep((eye_top[1] - p[:, 1]) / 0.03)
    zeros = np.zeros(N_LANDMARKS)
    brow_w = _gauss(p, brow.mean(axis=0), 0.12) * above_eye
    put(f"browDown{side}", np.stack([-0.01 * out * brow_w, 0.03 * brow_w], axis=1))
    outer_w = _gauss(p, outer, 0.09) * above_eye
    put(f"browOuterUp{side}", np.stack([zeros, -0.04 * outer_w], axis=1))
    cheek = np.array([eye_top[0] + 0.02 * out, eye_top[1] + 0.2])
    cheek_w = _gauss(p, cheek, 0.1)
    put("cheekPuff", np.stack([0.02 * out * cheek_w, zeros], axis=1))
    put(f"cheekSquint{side}", np.stack([zeros, -0.02 * cheek_w], axis=1))
    wing = p[358] if (p[358, 0] - nose_x) * out > 0 else p[129]
    wing_w = _gauss(p, wing, 0.06)
    put(f"noseSneer{side}", np.stack([zeros, -0.02 * wing_w], axis=1))
