"""Relaxing an expressive reference photo, once, when its character is built.

A photo with parted lips, a toothy smile, raised or lowered brows or narrowed eyes is turned into
the same person at rest before the rig is built, so that the renderer only ever animates a face
at rest (the case it does well) and never has to undo an expression frame by frame (which folds
skin over the eyes, or paints over teeth it cannot hide). For each part:

- mouth: parted lips are closed by moving the lips themselves: the jaw comes up part of the way
  (the rig's jawOpen field), then both lips meet on a seam (``avatars.lips``) that the exact warp
  (``avatars.piecewise``) collapses, so no pixel of teeth or mouth remains;
- smile: a moderate smile has its corners lowered with the rig's smile fields; a broad one is kept
  (its raised cheeks and folds are the photo's texture; lowering the corners alone makes a
  grimace), with the lips closed over its teeth;
- brows: raised brows come down and lowered ones up, towards a resting distance above the lids,
  with the rig's brow fields; never further than the skin between brow and lid allows without a
  fold (no triangle of the mesh may shrink below ``_LEAST_AREA`` of its area);
- lids: narrowed eyes are kept (the photo has no pixels of the iris to open them with).

The relaxed picture is measured again with MediaPipe (the honest check that the lips now read as
closed), and the rig is built from that. What was found and decided is the ``Relaxation`` record
the character keeps. A part that cannot be moved back any further (closed lips, brows brought
down to their room above the lids, narrowed eyes) is the character's resting state: its
blendshapes count as 0 for the renderer, so motion never undoes more than the picture allows
(``AT_REST``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import nnls

from avatars import face as fm
from avatars import lips
from avatars import piecewise as pw
from avatars.face import FaceMeasurer
from avatars.images import FaceNotFoundError, find_face
from avatars.motion import BLENDSHAPES, index
from avatars.rig import Rig, build_rig

log = logging.getLogger(__name__)

PARTS = ("mouth", "smile", "brows", "lids")
UNCHANGED, RELAXED, PARTLY, KEPT = "unchanged", "relaxed", "partly relaxed", "kept"
ACTIONS = (UNCHANGED, RELAXED, PARTLY, KEPT)
# Each part's blendshapes, and the decisions after which they are the character's rest (0 for
# the renderer): what the picture can no longer be moved back from. Closed lips cannot close
# further, lowered brows have no more room above the lids, narrowed eyes have nothing to open
# with. A smile, kept or lessened, can still be lessened by motion (the renderer does that
# relative to the photo's own smile), so its measured value stays.
AT_REST = {"mouth": (RELAXED, PARTLY), "smile": (), "brows": (RELAXED, PARTLY), "lids": (KEPT,)}
CHANNELS: dict[str, tuple[str, ...]] = {
    "mouth": ("jawOpen", "mouthClose", "mouthUpperUpLeft", "mouthUpperUpRight",
              "mouthLowerDownLeft", "mouthLowerDownRight"),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "brows": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight"),
    "lids": ("eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight",
             "eyeWideLeft", "eyeWideRight"),
}  # fmt: skip

# Face heights unless said otherwise. Lips further apart than this (the middle of the mouth) are
# closed; MediaPipe's inner-lip line on closed lips stays well under it.
_PARTED = 0.012
# the jaw closes up to this share of the gap (the lips close the rest), as far as MediaPipe reads
# the jaw open: from jawOpen _JAW_FROM (a smile reads about 0.1) to _JAW_FULL
_JAW_SHARE, _JAW_FROM, _JAW_FULL = 0.7, 0.1, 0.4
# a smile above _SMILE_FROM is relaxed down to a corner lift of _LIFT_REST (corners about level
# with the middle of the mouth), unless it is broad: then it is kept
_SMILE_FROM, _SMILE_BROAD, _LIFT_BROAD, _LIFT_REST = 0.4, 0.75, 0.045, 0.012
# brows: raised above _BROW_HIGH over the upper lid come down to _BROW_REST; lowered below
# _BROW_LOW come up to it, at most _BROW_RAISE
_BROW_HIGH, _BROW_REST, _BROW_LOW, _BROW_RAISE = 0.1, 0.092, 0.07, 0.02
_BROW_RAISED, _BROW_OUTER_RAISED, _BROW_LOWERED = 0.25, 0.35, 0.5  # MediaPipe's scores
# lids: an eye open less than this share of its width, or blinking this much, is narrowed
_NARROW, _NARROW_BLINK = 0.14, 0.45
_LEAST_AREA = 0.5  # no triangle the brows move may shrink below this share of its area
_JAW = index("jawOpen")
_BACK_OFF = 0.8  # a part whose movement folds the mesh is scaled down by this, and tried again


@dataclass(frozen=True)
class PartRelaxation:
    """What the photo showed of one part, what was done with it and why."""

    part: str
    action: str
    reason: str
    found: tuple[tuple[str, float], ...]  # measures of the photo (blendshapes, face heights)
    after: tuple[tuple[str, float], ...] = ()  # the same measures on the relaxed picture

    def __post_init__(self) -> None:
        if self.part not in PARTS:
            raise ValueError(f"part {self.part!r}; expected one of {', '.join(PARTS)}")
        if self.action not in ACTIONS:
            raise ValueError(f"action {self.action!r}; expected one of {', '.join(ACTIONS)}")

    def to_dict(self) -> dict[str, Any]:
        return {"part": self.part, "action": self.action, "reason": self.reason,
                "found": dict(self.found), "after": dict(self.after)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PartRelaxation:
        return cls(part=str(data["part"]), action=str(data["action"]), reason=str(data["reason"]),
                   found=_pairs(data.get("found", {})), after=_pairs(data.get("after", {})))  # fmt: skip


def _pairs(values: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    return tuple((str(k), round(float(v), 4)) for k, v in values.items())


@dataclass(frozen=True)
class Relaxation:
    """The record of one photo's relaxation: one entry per part, in ``PARTS`` order."""

    parts: tuple[PartRelaxation, ...]
    warped: bool = False  # whether the picture was changed
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if tuple(p.part for p in self.parts) != PARTS:
            raise ValueError(f"a relaxation has one entry per part, in order: {', '.join(PARTS)}")

    def part(self, name: str) -> PartRelaxation:
        return self.parts[PARTS.index(name)]

    @property
    def kept(self) -> tuple[str, ...]:
        """The parts kept as the resting state."""
        return tuple(p.part for p in self.parts if p.action == KEPT)

    def resting(self, expression: np.ndarray) -> np.ndarray:
        """(52,) ``expression`` with the blendshapes of every part that is now at rest set to 0
        (``AT_REST``)."""
        out = np.asarray(expression, np.float32).copy()
        for p in self.parts:
            if p.action in AT_REST[p.part]:
                out[[index(name) for name in CHANNELS[p.part]]] = 0.0
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"warped": self.warped, "parts": [p.to_dict() for p in self.parts],
                "notes": list(self.notes)}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Relaxation:
        """The record ``to_dict`` wrote; raises ValueError naming what is wrong."""
        try:
            parts = tuple(PartRelaxation.from_dict(p) for p in data["parts"])
            return cls(parts=parts, warped=bool(data["warped"]),
                       notes=tuple(str(n) for n in data.get("notes", ())))  # fmt: skip
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"relaxation record incomplete: {exc!r}") from None


@dataclass(frozen=True)
class RelaxedPhoto:
    """The picture at rest, measured again, and what was done."""

    picture: np.ndarray  # (H, W, 3) uint8
    landmarks: np.ndarray  # (478, 3) on ``picture``
    expression: np.ndarray  # (52,) resting state (``Relaxation.resting`` of the measured one)
    transform: np.ndarray  # (4, 4)
    record: Relaxation
    teeth: np.ndarray | None  # (3,) RGB of the teeth the original photo showed, if any


@dataclass
class _Plan:
    """Per part: the decision, and the rig amplitudes (52,) that carry it out."""

    found: dict[str, dict[str, float]]
    action: dict[str, str]
    reason: dict[str, str]
    amplitudes: dict[str, np.ndarray]
    close: bool = False


def relax_photo(
    picture: np.ndarray,
    landmarks: np.ndarray,
    expression: np.ndarray,
    transform: np.ndarray,
    measurer: FaceMeasurer,
) -> RelaxedPhoto:
    """Relax ``picture`` (its face measured as ``landmarks`` (478, 3), ``expression`` (52,),
    ``transform`` (4, 4)); the measurer reads the relaxed picture again."""
    rig = build_rig(landmarks)
    plan = _plan(landmarks, expression, rig)
    teeth = lips.teeth_color(picture, landmarks)
    moving = plan.close or any(np.any(a) for a in plan.amplitudes.values())
    if not moving:
        record = _record(plan, (), warped=False)
        return RelaxedPhoto(picture=picture, landmarks=landmarks, transform=transform,
                            expression=record.resting(expression), record=record, teeth=teeth)  # fmt: skip
    relaxed, marks, seam, notes = _warp(picture, landmarks, rig, plan)
    relaxed = lips.shade_seam(relaxed, seam, rig.face_height) if plan.close else relaxed
    try:
        measured = find_face(relaxed, measurer).measurement
        landmarks_after, shapes, transform_after = measured.landmarks, measured.blendshape_vector(), measured.transform
    except FaceNotFoundError:
        # the moved landmarks stand in; the decision's targets for the blendshapes
        notes.append("MediaPipe did not find the face on the relaxed picture; its landmarks are the moved ones")
        landmarks_after, shapes, transform_after = marks, expression, transform
    after = _measures(landmarks_after, shapes, build_rig(landmarks_after))
    if plan.close and after["mouth"]["lip_gap"] > _PARTED:
        notes.append(f"MediaPipe still reads the lips {after['mouth']['lip_gap']:.3f} face heights "
                     "apart on the relaxed picture")  # fmt: skip
    record = _record(plan, after, warped=True, notes=tuple(notes))
    log.info("photo relaxed %s", ", ".join(f"{p.part}={p.action}" for p in record.parts))
    return RelaxedPhoto(picture=relaxed, landmarks=np.asarray(landmarks_after, np.float32),
                        expression=record.resting(shapes), transform=np.asarray(transform_after, np.float32),
                        record=record, teeth=teeth)  # fmt: skip


def _record(plan: _Plan, after: Any, *, warped: bool, notes: tuple[str, ...] = ()) -> Relaxation:
    parts = tuple(
        PartRelaxation(part=name, action=plan.action[name], reason=plan.reason[name],
                       found=_pairs(plan.found[name]), after=_pairs(after[name]) if after else ())
        for name in PARTS
    )  # fmt: skip
    return Relaxation(parts=parts, warped=warped, notes=notes)


def _measures(landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> dict[str, dict[str, float]]:
    """Per part, what the face shows: MediaPipe's scores and distances in face heights."""
    xy = landmarks[:, :2].astype(np.float64)
    fh, ey = rig.face_height, rig.axes[1].astype(np.float64)
    e = {name: float(expression[index(name)]) for name in BLENDSHAPES}
    gaps = lips.inner_gaps(landmarks, rig.axes.astype(np.float64))
    center = (xy[13] + xy[14]) / 2
    corners = (xy[fm.MOUTH_LEFT_CORNER] + xy[fm.MOUTH_RIGHT_CORNER]) / 2
    brow_lid, openness = [], []
    for brow, upper, lower in ((fm.RIGHT_BROW, fm.RIGHT_EYE_UPPER, fm.RIGHT_EYE_LOWER),
                               (fm.LEFT_BROW, fm.LEFT_EYE_UPPER, fm.LEFT_EYE_LOWER)):  # fmt: skip
        brow_lid.append(float((xy[list(upper)] @ ey).mean() - (xy[list(brow)] @ ey).mean()) / fh)
        width = float(np.linalg.norm(xy[upper[0]] - xy[upper[-1]]))
        gap = float(np.mean((xy[list(lower[2:-2])] - xy[list(upper[2:-2])]) @ ey))
        openness.append(gap / max(width, 1e-6))
    return {
        "mouth": {"lip_gap": float(gaps[2:-2].mean()) / fh, "jawOpen": e["jawOpen"]},
        "smile": {"mouthSmile": (e["mouthSmileLeft"] + e["mouthSmileRight"]) / 2,
                  "corner_lift": float((center - corners) @ ey) / fh},
        "brows": {"browInnerUp": e["browInnerUp"],
                  "browOuterUp": (e["browOuterUpLeft"] + e["browOuterUpRight"]) / 2,
                  "browDown": (e["browDownLeft"] + e["browDownRight"]) / 2,
                  "brow_to_lid_right": brow_lid[0], "brow_to_lid_left": brow_lid[1]},
        "lids": {"eyeBlink": (e["eyeBlinkLeft"] + e["eyeBlinkRight"]) / 2,
                 "openness_right": openness[0], "openness_left": openness[1]},
    }  # fmt: skip


def _plan(landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> _Plan:
    found = _measures(landmarks, expression, rig)
    plan = _Plan(found=found, action={}, reason={}, amplitudes={})
    _plan_mouth(plan, expression, rig)
    _plan_smile(plan, rig)
    _plan_brows(plan, landmarks, expression, rig)
    _plan_lids(plan)
    return plan


def _amplitudes(**values: float) -> np.ndarray:
    out = np.zeros(len(BLENDSHAPES), np.float64)
    for name, value in values.items():
        out[index(name)] = value
    return out


def _plan_mouth(plan: _Plan, expression: np.ndarray, rig: Rig) -> None:
    gap = plan.found["mouth"]["lip_gap"]
    plan.amplitudes["mouth"] = _amplitudes()
    if gap <= _PARTED:
        plan.action["mouth"], plan.reason["mouth"] = UNCHANGED, f"lips closed (gap {gap:.3f})"
        return
    jaw = float(expression[index("jawOpen")])
    share = _JAW_SHARE * float(np.clip((jaw - _JAW_FROM) / (_JAW_FULL - _JAW_FROM), 0.0, 1.0))
    ey = rig.axes[1].astype(np.float64)
    per_unit = float((rig.basis[index("jawOpen"), 14] - rig.basis[index("jawOpen"), 13]) @ ey)
    if share > 0.0 and per_unit > 0.0:
        plan.amplitudes["mouth"] = _amplitudes(jawOpen=-share * gap * rig.face_height / per_unit)
    plan.close = True
    plan.action["mouth"] = RELAXED
    plan.reason["mouth"] = (f"lips parted {gap:.3f} face heights: the lips meet, "
                            f"the jaw taking {share:.0%} of the gap")  # fmt: skip


def _plan_smile(plan: _Plan, rig: Rig) -> None:
    smile, lift = plan.found["smile"]["mouthSmile"], plan.found["smile"]["corner_lift"]
    plan.amplitudes["smile"] = _amplitudes()
    if smile < _SMILE_FROM or lift <= _LIFT_REST:
        plan.action["smile"], plan.reason["smile"] = UNCHANGED, f"no more than a slight smile ({smile:.2f})"
        return
    if smile >= _SMILE_BROAD or lift >= _LIFT_BROAD:
        plan.action["smile"] = KEPT
        plan.reason["smile"] = (f"a broad smile ({smile:.2f}) stays in the picture: its raised cheeks "
                                "and folds are the photo's own, and lowering the corners alone "
                                "would make a grimace; motion lessens it from there")  # fmt: skip
        return
    ey = rig.axes[1].astype(np.float64)
    corners = [fm.MOUTH_LEFT_CORNER, fm.MOUTH_RIGHT_CORNER]
    per_unit = -float(np.mean([rig.basis[index(f"mouthSmile{s}"), c] @ ey
                               for s, c in zip(("Left", "Right"), corners, strict=True)]))  # fmt: skip
    amount = (lift - _LIFT_REST) * rig.face_height / max(per_unit, 1e-6)
    plan.amplitudes["smile"] = _amplitudes(mouthSmileLeft=-amount, mouthSmileRight=-amount)
    plan.action["smile"] = RELAXED
    plan.reason["smile"] = f"smile {smile:.2f}: corners lowered {lift - _LIFT_REST:.3f} face heights"


def _plan_brows(plan: _Plan, landmarks: np.ndarray, expression: np.ndarray, rig: Rig) -> None:
    found = plan.found["brows"]
    plan.amplitudes["brows"] = _amplitudes()
    sides = (("Right", fm.RIGHT_BROW, found["brow_to_lid_right"]),
             ("Left", fm.LEFT_BROW, found["brow_to_lid_left"]))  # fmt: skip
    wanted: list[np.ndarray] = []  # px along the face's y axis, per brow point (+ = down)
    points: list[int] = []
    inner = float(expression[index("browInnerUp")])
    for side, brow, distance in sides:
        outer = float(expression[index(f"browOuterUp{side}")])
        down = float(expression[index(f"browDown{side}")])
        move = 0.0
        if (inner > _BROW_RAISED or outer > _BROW_OUTER_RAISED) and distance > _BROW_HIGH:
            move = distance - _BROW_REST
        elif down > _BROW_LOWERED and distance < _BROW_LOW:
            move = -min(_BROW_RAISE, _BROW_LOW - distance)
        wanted.append(np.full(len(brow), move * rig.face_height))
        points.extend(brow)
    target = np.concatenate(wanted)
    if not np.any(target):
        plan.action["brows"], plan.reason["brows"] = UNCHANGED, "brows at rest above the lids"
        return
    # the rig's brow fields, each signed so that a positive amount moves the way it undoes
    names = ("browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft", "browDownRight")
    ey = rig.axes[1].astype(np.float64)
    columns = np.stack([-(rig.basis[index(n), points] @ ey) for n in names], axis=1)
    amounts, _ = nnls(columns, target)
    plan.amplitudes["brows"] = _amplitudes(**{n: -a for n, a in zip(names, amounts, strict=True)})
    direction = "lowered" if target.sum() > 0 else "raised"
    plan.action["brows"] = RELAXED
    plan.reason["brows"] = (f"brows {direction} towards {_BROW_REST:.3f} face heights above the lids "
                            f"(found {sides[0][2]:.3f} / {sides[1][2]:.3f})")  # fmt: skip


def _plan_lids(plan: _Plan) -> None:
    found = plan.found["lids"]
    plan.amplitudes["lids"] = _amplitudes()
    openness = min(found["openness_right"], found["openness_left"])
    if openness < _NARROW or found["eyeBlink"] > _NARROW_BLINK:
        plan.action["lids"] = KEPT
        plan.reason["lids"] = (f"eyes narrowed (open {openness:.2f} of their width): the photo has "
                               "no pixels of the iris to open them with")  # fmt: skip
        return
    plan.action["lids"], plan.reason["lids"] = UNCHANGED, f"eyes open ({openness:.2f} of their width)"


def _border(width: int, height: int, per_side: int = 6) -> np.ndarray:
    """(N, 2) points just outside the picture's edge: they never move."""
    xs = np.linspace(-1.0, float(width), per_side + 1)
    ys = np.linspace(-1.0, float(height), per_side + 1)[1:-1]
    return np.concatenate([np.stack([xs, np.full_like(xs, -1.0)], 1),
                           np.stack([xs, np.full_like(xs, float(height))], 1),
                           np.stack([np.full_like(ys, -1.0), ys], 1),
                           np.stack([np.full_like(ys, float(width)), ys], 1)])  # fmt: skip


def _warp(
    picture: np.ndarray, landmarks: np.ndarray, rig: Rig, plan: _Plan
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """(relaxed picture, moved landmarks (478, 3), seam (11, 2) px, notes): the plan carried
    out by the exact warp, each part scaled back until nothing folds."""
    height, width = picture.shape[:2]
    axes, fh = rig.axes.astype(np.float64), rig.face_height
    vertices = rig.vertices[:, :2].astype(np.float64)
    source = vertices.copy()
    guards, guarded = np.zeros((0, 2)), np.zeros(0, np.int64)
    if plan.close:
        source[lips.UPPER], source[lips.LOWER] = lips.refine_opening(picture, landmarks, axes, fh)
        guards, guarded = lips.corner_guards(source[lips.UPPER], source[lips.LOWER])
    # vertices off the picture (outer rings, the torso below it) are left out: the border
    # points hold the picture's edge
    on = (np.abs(vertices[:, 0] - width / 2) <= width / 2 + 1) & (
        np.abs(vertices[:, 1] - height / 2) <= height / 2 + 1)
    on[: fm.NUM_LANDMARKS] = True
    ids = np.flatnonzero(on)
    where = np.full(len(vertices), -1)
    where[ids] = np.arange(len(ids))
    border = _border(width, height)
    seams = [(where[lips.UPPER].tolist(), where[lips.LOWER].tolist())] if plan.close else []
    mesh = pw.triangulate(np.concatenate([source[ids], guards, border]), seams)
    n_given = len(ids) + len(guards) + len(border)

    def targets(scales: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        moved, seam = _targets(vertices, source, rig, plan, scales, axes, fh)
        given = np.concatenate([moved[ids], guards + moved[guarded] - vertices[guarded], border])
        if plan.close:
            given[where[lips.UPPER]], given[where[lips.LOWER]] = seam, seam
        return mesh.extend(given), moved, seam

    # the triangles the brows move: the space between brow and lid may not shrink past a limit
    by_brows = np.zeros(len(mesh.points), bool)
    by_brows[: len(ids)] = np.einsum("k,kv->v", np.abs(plan.amplitudes["brows"]),
                                     np.abs(rig.basis).sum(axis=2))[ids] > 0.05  # fmt: skip
    brow_moved = by_brows[mesh.triangles].any(axis=1)
    scales = {name: 1.0 for name in plan.amplitudes}
    notes: list[str] = []
    for _ in range(40):
        target, moved, seam = targets(scales)
        bad = pw.folded(mesh, target) | (pw.folded(mesh, target, least=_LEAST_AREA) & brow_moved)
        if not bad.any():
            break
        # scale back the parts that move the folding triangles' corners
        corners = np.unique(mesh.triangles[bad])
        corners = ids[corners[corners < len(ids)]]
        guilty = [n for n, a in plan.amplitudes.items() if scales[n] > 0.02
                  and np.abs(np.einsum("k,kvc->vc", a, rig.basis[:, corners])).max() > 0.05]  # fmt: skip
        if not guilty:
            notes.append(f"{int(bad.sum())} triangles fold where the lips close; closed anyway")
            break
        for name in guilty:
            scales[name] *= _BACK_OFF
    del n_given
    for name, scale in scales.items():
        if scale < 1.0 and plan.action[name] == RELAXED:
            plan.action[name] = PARTLY
            plan.reason[name] += f"; {scale:.0%} of it: more would fold the skin"
    marks = landmarks.copy()
    marks[:, :2] = moved[: fm.NUM_LANDMARKS]
    if plan.close:
        marks[lips.UPPER, :2], marks[lips.LOWER, :2] = seam, seam
    return pw.warp(picture, mesh, target), marks, seam, notes


def _targets(
    vertices: np.ndarray,
    source: np.ndarray,
    rig: Rig,
    plan: _Plan,
    scales: dict[str, float],
    axes: np.ndarray,
    fh: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(moved vertices (V, 2), seam (11, 2)): the rig's fields at the plan's amplitudes (each
    part scaled), then the lips brought together (``source``: the vertices with the inner lips
    on their refined lines)."""
    basis = rig.basis.astype(np.float64)
    shift = np.einsum("k,kvc->vc", sum(scales[n] * a for n, a in plan.amplitudes.items()), basis)
    if not plan.close:
        return vertices + shift, np.zeros((len(lips.UPPER), 2))
    jaw = scales["mouth"] * plan.amplitudes["mouth"][_JAW] * basis[_JAW]
    limited = lips.limit_jaw(jaw, vertices, source[lips.UPPER], source[lips.LOWER], axes, fh, _JAW_SHARE)
    shift += limited - jaw
    moved = vertices + shift
    upper = source[lips.UPPER] + shift[lips.UPPER]
    lower = source[lips.LOWER] + shift[lips.LOWER]
    closing, seam = lips.closing_field(moved, upper, lower, axes, fh)
    return moved + closing, seam
